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

#include <algorithm>
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
  bool pipe = false;   // a pipe: tee(2) can give it the input's bytes
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
  // One round of tee(2) to the outputs that may have the input's next
  // bytes: how far the least and the most of them got, and one whose pipe
  // was full.
  struct TeeRound {
    std::size_t least = static_cast<std::size_t>(-1);
    std::size_t most = 0;
    Out* full = nullptr;
    bool end = false;
  };
  TeeRound tee_ahead(int in_fd);
  void lost(Out& o, std::error_code e);
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
  bool in_pipe_ = false; // the input is a pipe: tee(2) may be used
  // Pipe sizes when the input is a pipe. The input: 1 MiB, as acat's
  // output, so its writer is woken less often. An output pipe: two reads,
  // so tee(2) gives it a whole read while its reader is on the last one
  // (a 64 KiB pipe holds half a read; 64 outputs of 256 KiB stay well
  // inside the default per-user pipe quota, fs.pipe-user-pages-soft).
  int out_pipe_size() const noexcept { return static_cast<int>(2 * cap_); }
  static constexpr int in_pipe_size() noexcept { return 1 << 20; }
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
      o->pipe = S_ISFIFO(st.st_mode);
    } else if (::stat(arg.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
      o->fifo = true; // opened by serve(), once a reader is there
      o->pipe = true;
      o->path = arg;
    } else {
      // As tee: created or truncated.
      o->fd = aio::UniqueFd(::open(arg.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
      if (o->fd && fstat(o->fd.get(), &st) == 0) {
        o->sync = !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
        o->pipe = S_ISFIFO(st.st_mode);
      }
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

// An output's write (or tee) failed: EPIPE is its reader going away.
void Tee::lost(Out& o, std::error_code e) {
  if (e == std::errc::broken_pipe) {
    const bool again = opts_.reconnect && o.fifo;
    fmt::print(stderr, "afifo: {}: reader went away{}\n", o.q.name,
               again ? ", waiting for a new one" : "");
  } else {
    fmt::print(stderr, "afifo: {}: {}\n", o.q.name, e.message());
    o.failed = true;
    status_ = 1;
  }
  fan_.disconnect(o.q);
}

// Zero-copy fan-out: the bytes waiting in the input pipe are given to each
// output pipe that may have them now (Fanout::can_tee) by tee(2), which
// adds references to the pipe's pages instead of copying them; the read
// that follows takes the same bytes out of the input, and the fan-out
// queues for each output only what its tee did not take (its pipe was
// full, or it was not eligible). One copy (the read) instead of one per
// output, and the readers' pages are freed once, not once each.
// tee(2) is called on the thread: SPLICE_F_NONBLOCK never blocks, and
// io_uring's IORING_OP_TEE always goes to an io-wq worker (6.18).
Tee::TeeRound Tee::tee_ahead(int in_fd) {
  TeeRound t;
  const std::uint64_t pos = fan_.pos();
  for (auto& o : outs_) {
    if (!o->pipe || !o->fd || !o->q.accepting) continue;
    if (o->q.teed_to > pos && o->q.segs.empty()) {
      // Ahead of the read from an earlier round (block): in step with it.
      const auto ahead = static_cast<std::size_t>(o->q.teed_to - pos);
      t.least = std::min(t.least, ahead);
      t.most = std::max(t.most, ahead);
      continue;
    }
    if (!fan_.can_tee(o->q)) continue;
    ssize_t n;
    do {
      n = ::tee(in_fd, o->fd.get(), cap_, SPLICE_F_NONBLOCK);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      fan_.teed(o->q, static_cast<std::size_t>(n));
      t.least = std::min(t.least, static_cast<std::size_t>(n));
      t.most = std::max(t.most, static_cast<std::size_t>(n));
    } else if (n == 0) {
      t.end = true; // the input is at its end
    } else if (errno == EAGAIN) {
      t.full = o.get(); // its pipe is full
      t.least = 0;
    } else if (errno == EINVAL) {
      o->pipe = false; // not a pipe after all: the queue it is
    } else {
      lost(*o, aio::errno_code(errno));
    }
  }
  return t;
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
    // if/else, not a co_await inside `?:` (lib/README.md: g++ 12).
    aio::Result<std::size_t> r = std::size_t{0};
    if (o.sync)
      r = write_sync(o.fd.get(), seg.bytes());
    else
      r = co_await write_ready(o.fd.get(), seg.bytes());
    if (!o.q.accepting) co_return;              // disconnected meanwhile: its queue is gone
    if (r && *r == 0) r = aio::errno_code(EIO); // no progress: never spin
    if (!r) {
      if (!r.cancelled()) lost(o, r.error());
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
    if (o.pipe && in_pipe_) grow_pipe(o.fd.get(), out_pipe_size());
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
  const int in_pipe = in.pipe_fd();
  for (;;) {
    if (!any_alive()) break;
    if (opts_.on_slow == Slow::Block) {
      while (!fan_.room_for_next() && any_alive()) {
        fan_.room.reset();
        if (!co_await fan_.room.wait()) co_return; // stopped
      }
    }
    ChunkRef c = pool_.get();
    std::size_t len = cap_;
    if (in_pipe >= 0 && std::any_of(outs_.begin(), outs_.end(), [this](const auto& o) {
          return o->pipe && o->fd && o->q.accepting && o->q.segs.empty();
        })) {
      // tee(2) needs the bytes in the pipe: wait for them first.
      auto p = co_await aio::poll(in_pipe, POLLIN);
      if (!p && p.cancelled()) break;
      TeeRound t = tee_ahead(in_pipe);
      // Under block an output whose pipe is full is waited for here, where
      // the bytes still are, rather than read and copied to its queue: each
      // output keeps in step with the read, its pipe the only buffer.
      while (opts_.on_slow == Slow::Block && t.full != nullptr && !t.end) {
        auto w = co_await aio::poll(t.full->fd.get(), POLLOUT);
        if (!w && w.cancelled()) co_return;
        t = tee_ahead(in_pipe);
      }
      // Read what was teed and no more: bytes a writer adds meanwhile would
      // be queued, and a queue keeps its output off tee until it drains.
      // Under block, no more than the least (the others are ahead, and skip
      // what they have); else the most (the others queue the rest).
      const std::size_t n = opts_.on_slow == Slow::Block && t.least != static_cast<std::size_t>(-1)
                                ? t.least
                                : t.most;
      if (n > 0 && !t.end) len = n;
    }
    auto r = co_await in.read(c->room(len));
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
  if (in->pipe_fd() >= 0) {
    in_pipe_ = true;
    grow_pipe(in->pipe_fd(), in_pipe_size());
  }
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
  struct Args {
    TeeOptions o;
    std::string on_slow = "block", buffer, framing = "line";
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("tee", "Copy one input to many FIFOs, files or stdout");
  sub->add_option("IN", args->o.input, "Input: a FIFO, a file or - (stdin, the default)");
  sub->add_option("-o,--output", args->o.outputs, "An output: a FIFO, a file or - (stdout)")
      ->required()
      ->allow_extra_args(false)
      ->type_name("OUT");
  sub->add_option("--on-slow", args->on_slow,
                  "A slow reader: block (all wait; the default), drop (whole records), disconnect")
      ->check(CLI::IsMember({"block", "drop", "disconnect"}))
      ->option_text("block|drop|disconnect");
  add_size_option(
      *sub, "--buffer", args->buffer,
      "Memory per output before it counts as slow (K, M, G suffixes; default 1M, at least 4K)",
      4096, "4K");
  add_framing_option(*sub, args->framing, "Records: line (the default), null, raw (each read)");
  sub->add_flag("--reconnect", args->o.reconnect,
                "Reopen a FIFO output whose reader went away once a reader comes back");
  sub->callback([&cmd, args] {
    auto opts = std::make_shared<TeeOptions>(args->o);
    opts->on_slow = args->on_slow == "drop"         ? Slow::Drop
                    : args->on_slow == "disconnect" ? Slow::Disconnect
                                                    : Slow::Block;
    if (!args->buffer.empty()) opts->buffer = *parse_size(args->buffer);
    opts->framing = *parse_framing(args->framing);
    cmd.run = [opts]() -> aio::Task<int> { co_return co_await run_tee(*opts); };
  });
}

} // namespace afifo
