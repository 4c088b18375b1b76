// afifo tee: the command line and the I/O. One task reads the input into
// shared chunks; each output has a task that connects it (a FIFO waits for
// its reader without blocking the thread) and one that writes its queue.
// The decisions (who gets what, what is dropped) are in tee_fanout.cpp.
#include "tee.hpp"

#include "aio/fifo.hpp"
#include "aio/ops.hpp"
#include "aio/race.hpp"
#include "command.hpp"
#include "common.hpp"
#include "tee_input.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>

namespace afifo::tee_latest {

namespace {

// Regular files and devices are written with write(2) on the thread, as
// cat does: through io_uring an ext4 buffered write goes to an io-wq worker.
aio::Result<std::size_t> write_sync(int fd, std::span<const std::byte> buf) {
  for (;;) {
    const ssize_t n = ::write(fd, buf.data(), buf.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return aio::errno_code(errno);
  }
}

struct Out {
  OutputQueue q;
  std::string path; // for (re)opening a FIFO
  bool fifo = false;
  bool sync = false;
  bool done = false;   // wrote everything after the input ended
  bool failed = false; // an error other than a reader going away
  aio::UniqueFd fd;
};

class Tee {
public:
  explicit Tee(const TeeOptions& o)
      : opts_(o), cap_(chunk_size_for(o.buffer)), pool_(cap_), fan_(o, cap_) {}

  aio::Task<int> run();

private:
  bool open_outputs();
  aio::Task<void> serve(Out& o);
  aio::Task<void> write_loop(Out& o);
  aio::Task<void> wait_ended() {
    if (!ended_.is_set()) (void)co_await ended_.wait();
  }
  aio::Task<void> read_input(Input& in);
  bool any_alive() const noexcept {
    for (const auto& o : outs_)
      if (o->q.accepting || (opts_.reconnect && o->fifo && !o->failed && !o->done)) return true;
    return false;
  }
  void connected_one() {
    if (--connecting_ == 0) all_connected_.set();
  }
  void flush_now();
  void report();

  const TeeOptions& opts_;
  std::size_t cap_;
  ChunkPool pool_;
  Fanout fan_;
  std::vector<std::unique_ptr<Out>> outs_;
  std::size_t connecting_ = 0;
  aio::Event all_connected_;
  aio::Event ended_;
  bool input_done_ = false;
  int status_ = 0;
};

bool Tee::open_outputs() {
  for (const std::string& arg : opts_.outputs) {
    auto o = std::make_unique<Out>();
    o->q.name = display_name(arg, true);
    struct stat st {};
    if (arg == "-") {
      if (fstat(1, &st) != 0) {
        fmt::print(stderr, "afifo: {}: {}\n", o->q.name, std::strerror(errno));
        status_ = 1;
        continue;
      }
      const bool pipe = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
      o->fd = pipe ? own_description(1, O_WRONLY | O_NONBLOCK)
                   : aio::UniqueFd(fcntl(1, F_DUPFD_CLOEXEC, 3));
      o->sync = !pipe;
    } else if (::stat(arg.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
      o->fifo = true; // opened by serve(), once a reader is there
      o->path = arg;
    } else {
      // As tee: created or truncated.
      o->fd = aio::UniqueFd(::open(arg.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
      if (o->fd && fstat(o->fd.get(), &st) == 0)
        o->sync = !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    }
    if (!o->fifo && !o->fd) {
      fmt::print(stderr, "afifo: {}: {}\n", o->q.name, std::strerror(errno));
      status_ = 1;
      continue;
    }
    fan_.outputs.push_back(&o->q);
    outs_.push_back(std::move(o));
  }
  return !outs_.empty();
}

aio::Task<void> Tee::write_loop(Out& o) {
  for (;;) {
    if (!o.q.accepting) co_return;
    if (o.q.segs.empty()) {
      if (input_done_) {
        o.done = true;
        co_return;
      }
      o.q.ready.reset();
      if (!co_await o.q.ready.wait()) co_return; // stopped
      continue;
    }
    // A copy of the front segment: its reference keeps the chunk alive
    // while the kernel reads it, even if the queue is cleared meanwhile.
    const Segment seg = o.q.segs.front();
    auto r = o.sync ? write_sync(o.fd.get(), seg.bytes())
                    : co_await write_ready(o.fd.get(), seg.bytes());
    if (!o.q.accepting) co_return;              // disconnected meanwhile: its queue is gone
    if (r && *r == 0) r = aio::errno_code(EIO); // no progress: never spin
    if (!r) {
      if (r.cancelled()) co_return;
      if (r.error() == std::errc::broken_pipe) {
        const bool again = opts_.reconnect && o.fifo;
        fmt::print(stderr, "afifo: {}: reader went away{}\n", o.q.name,
                   again ? ", waiting for a new one" : "");
      } else {
        fmt::print(stderr, "afifo: {}: {}\n", o.q.name, r.error().message());
        o.failed = true;
        status_ = 1;
      }
      fan_.disconnect(o.q);
      co_return;
    }
    o.q.consumed(*r, cap_);
    fan_.room.set();
  }
}

aio::Task<void> Tee::serve(Out& o) {
  bool first = true;
  for (;;) {
    if (!o.fd) {
      // Waits for a reader (ENXIO retried), or for the input to end.
      auto r = co_await aio::race(aio::open_fifo_write(o.path), wait_ended());
      if (!r.first) {
        if (!r.first.cancelled()) {
          fmt::print(stderr, "afifo: {}: {}\n", o.q.name, r.first.error().message());
          o.failed = true;
          status_ = 1;
        }
        break;
      }
      if (r.winner == 1) break; // the input ended first: nothing to give it
      o.fd = std::move(*r.first);
    }
    if (first) {
      first = false;
      connected_one();
    } else {
      o.q.skip_to_boundary = true; // a new reader starts at a record
    }
    o.q.accepting = true;
    {
      aio::Scope s(co_await aio::stop_token());
      o.q.writer = &s;
      s.spawn(write_loop(o));
      co_await s.join();
      o.q.writer = nullptr;
    }
    if (o.done) {
      // Its reader gets EOF now, not when the slowest output is done.
      o.fd.reset();
      break;
    }
    // Stopped (SIGINT/SIGTERM): what is queued stays for flush_now().
    if (o.q.accepting && (co_await aio::stop_token()).stop_requested()) co_return;
    o.q.accepting = false;
    o.q.clear();
    o.fd.reset(); // the writer is over: nothing is in flight on it
    if (!opts_.reconnect || !o.fifo || input_done_) break;
    if ((co_await aio::stop_token()).stop_requested()) break;
  }
  o.q.accepting = false;
  if (first) connected_one();
  // With every output gone for good the input has no one to read for.
  fan_.room.set();
}

aio::Task<void> Tee::read_input(Input& in) {
  for (;;) {
    if (!any_alive()) break;
    if (opts_.on_slow == Slow::Block) {
      while (!fan_.room_for_next() && any_alive()) {
        fan_.room.reset();
        if (!co_await fan_.room.wait()) co_return; // stopped
      }
    }
    ChunkRef c = pool_.get();
    auto r = co_await in.read(c->room(cap_));
    if (!r) {
      if (!r.cancelled()) {
        fmt::print(stderr, "afifo: {}: {}\n", display_name(opts_.input, false),
                   r.error().message());
        status_ = 1;
      }
      break;
    }
    if (*r == 0) break;
    c->len = *r;
    fan_.feed(c);
  }
}

// After a stop (SIGINT/SIGTERM): what is queued for an output that can
// take it without waiting goes out now (whole records under drop).
void Tee::flush_now() {
  for (auto& o : outs_) {
    if (!o->q.accepting || !o->fd) continue;
    const int fl = fcntl(o->fd.get(), F_GETFL);
    if (!o->sync && (fl < 0 || (fl & O_NONBLOCK) == 0)) continue;
    while (!o->q.segs.empty()) {
      auto r = write_sync(o->fd.get(), o->q.segs.front().bytes());
      if (!r || *r == 0) break;
      o->q.consumed(*r, cap_);
    }
  }
}

void Tee::report() {
  for (auto& o : outs_) {
    if (opts_.on_slow == Slow::Drop)
      fmt::print(stderr, "afifo: {}: dropped {} records ({} bytes)\n", o->q.name,
                 o->q.dropped_records, o->q.dropped_bytes);
    if (o->q.disconnects > 0)
      fmt::print(stderr, "afifo: {}: disconnected {} times (too slow)\n", o->q.name,
                 o->q.disconnects);
  }
}

aio::Task<int> Tee::run() {
  // A reader going away is EPIPE on that output alone, not the end of us.
  signal(SIGPIPE, SIG_IGN);
  auto in = co_await Input::open(opts_.input);
  if (!in) {
    fmt::print(stderr, "afifo: {}: {}\n", display_name(opts_.input, false), in.error().message());
    co_return 1;
  }
  if (!open_outputs()) co_return 1;
  connecting_ = outs_.size();
  {
    aio::Scope scope(co_await aio::stop_token());
    for (auto& o : outs_)
      scope.spawn(serve(*o));
    // Every FIFO output gets its reader before the first byte is read, so
    // none misses the start (a reader that comes later is a slow one).
    bool go = true;
    if (connecting_ > 0) go = static_cast<bool>(co_await all_connected_.wait());
    if (go) co_await read_input(*in);
    const bool stopped = (co_await aio::stop_token()).stop_requested();
    if (!stopped) fan_.end_of_input();
    input_done_ = true;
    ended_.set();
    for (auto& o : outs_)
      o->q.ready.set();
    co_await scope.join();
    if (stopped) flush_now();
  }
  report();
  co_return status_;
}

} // namespace

aio::Task<int> run_tee(const TeeOptions& opts) {
  Tee t(opts);
  co_return co_await t.run();
}

} // namespace afifo::tee_latest

namespace afifo {

using namespace tee_latest;

void setup_tee(CLI::App& app, Command& cmd) {
  auto opts = std::make_shared<TeeOptions>();
  auto* sub = app.add_subcommand("tee", "Copy one input to many FIFOs, files or stdout");
  sub->add_option("IN", opts->input, "Input: a FIFO, a file or - (stdin, the default)");
  sub->add_option("-o,--output", opts->outputs, "An output: a FIFO, a file or - (stdout)")
      ->required()
      ->allow_extra_args(false)
      ->type_name("OUT");
  sub->add_option_function<std::string>(
         "--on-slow",
         [opts](const std::string& v) {
           opts->on_slow = v == "drop"         ? Slow::Drop
                           : v == "disconnect" ? Slow::Disconnect
                                               : Slow::Block;
         },
         "A slow reader: block (all wait; the default), drop (whole records), disconnect")
      ->check(CLI::IsMember({"block", "drop", "disconnect"}))
      ->type_name("POLICY");
  sub->add_option_function<std::string>(
         "--buffer", [opts](const std::string& v) { opts->buffer = *parse_size(v); },
         "Memory per output before it counts as slow (K, M, G suffixes; default 1M, at least 4K)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            auto s = parse_size(v);
            if (!s) return "invalid size: '" + v + "'";
            if (*s < 4096) return "--buffer must be at least 4K";
            return {};
          },
          ""))
      ->type_name("SIZE");
  sub->add_option_function<std::string>(
         "--framing", [opts](const std::string& v) { opts->framing = *parse_framing(v); },
         "Records: line (the default), null, raw (each read)")
      ->check(CLI::IsMember({"line", "null", "raw"}))
      ->type_name("FRAMING");
  sub->add_flag("--reconnect", opts->reconnect,
                "Reopen a FIFO output whose reader went away once a reader comes back");
  sub->callback([&cmd, opts] {
    cmd.run = [opts]() -> aio::Task<int> { co_return co_await run_tee(*opts); };
  });
}

} // namespace afifo
