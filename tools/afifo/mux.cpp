// afifo mux: the command line (setup_mux) and the run.
//
// Shape of a run: one reader task per input, each with its own Framer, and
// one writer task. Readers append whole records to one pending buffer (an
// append has no suspension point, so two inputs' records cannot interleave);
// the writer writes that buffer out while the readers fill the next one. A
// record longer than --max-record goes out in pieces while its input holds
// `record_lock`, so the other inputs wait instead of cutting into it.
#include "mux.hpp"

#include "command.hpp"
#include "common.hpp"

#include "aio/fifo.hpp"
#include "aio/ops.hpp"
#include "aio/race.hpp"
#include "aio/scope.hpp"
#include "aio/sync.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <system_error>

namespace afifo {

std::string format_tag(std::string_view format, std::string_view name, std::size_t index) {
  std::string out;
  for (std::size_t i = 0; i < format.size();) {
    if (format.substr(i).starts_with("{name}")) {
      out += name;
      i += 6;
    } else if (format.substr(i).starts_with("{index}")) {
      out += std::to_string(index);
      i += 7;
    } else {
      out += format[i++];
    }
  }
  return out;
}

namespace {

using namespace std::chrono_literals;

// Past this many bytes waiting for the output, readers wait for the writer:
// memory stays bounded when the output is slower than the inputs.
constexpr std::size_t kHighWater = std::size_t{1} << 20;
constexpr std::size_t kReadSize = std::size_t{64} << 10;
// After SIGINT/SIGTERM, how long the records already read may take to go out
// before the last write is abandoned (an output nobody reads).
constexpr auto kFlushGrace = 2s;

std::string errtext(std::error_code ec) { return ec.message(); }

struct Input {
  std::string name; // as given ("-" for stdin)
  std::string path; // to reopen a FIFO after its writer left; "" for stdin
  std::string tag;
  std::optional<aio::FifoReader> fifo; // a FIFO or pipe
  aio::UniqueFd file;                  // a regular file or other readable
  int plain_fd = -1;                   // what to read when not a FIFO
};

struct Shared {
  explicit Shared(const MuxOptions& o) : opts(o) {}
  const MuxOptions& opts;
  int out_fd = 1;
  std::string out_name;
  std::vector<std::byte> pending; // whole records waiting for the writer
  aio::Event data;                // pending has bytes, or closing
  aio::Event room;                // pending went under kHighWater
  aio::Event writer_done;
  aio::Mutex record_lock; // held by an input sending an over-long record in pieces
  bool closing = false;
  bool broken = false; // the output's reader went away
  bool failed = false; // an error was reported
  aio::Scope* readers = nullptr;
  std::size_t live = 0; // reader tasks not yet ended
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
};

void append(Shared& sh, std::span<const std::byte> b) {
  sh.pending.insert(sh.pending.end(), b.begin(), b.end());
}
void append(Shared& sh, std::string_view s) { append(sh, std::as_bytes(std::span(s))); }

void put_piece(Shared& sh, const Input& in, const Piece& p) {
  if (p.first && !in.tag.empty()) append(sh, in.tag);
  append(sh, p.bytes);
  if (!sh.data.is_set()) sh.data.set();
}

// The record under way in `f` ends without its terminator: its input
// ended. `writer_left`: a FIFO writer went away mid-record (marked, or
// dropped with --partial=drop); otherwise a file's unended last line, which
// gets its terminator as cat would show it.
void end_partial(Shared& sh, const Input& in, Framer& f, bool writer_left) {
  if (!f.in_record() || f.framing() == Framing::raw) return;
  const bool drop = writer_left && sh.opts.drop_partial;
  // Pieces of it already went out: it must be ended, or the next record
  // would be glued to it.
  if (!drop || f.continuing()) {
    if (!f.continuing() && !in.tag.empty()) append(sh, in.tag);
    append(sh, f.partial());
    if (writer_left) append(sh, kPartialMarker);
    const std::byte t = f.terminator();
    append(sh, std::span(&t, 1));
    if (!sh.data.is_set()) sh.data.set();
  }
  f.reset();
}

// Writes all of `b`: short writes are resumed, and an output left
// O_NONBLOCK by whoever opened it (EAGAIN) is waited for through the ring.
aio::Task<aio::Result<void>> write_out(int fd, std::span<const std::byte> b) {
  while (!b.empty()) {
    auto r = co_await aio::write(fd, b);
    if (!r) {
      if (r.error() != std::errc::resource_unavailable_try_again) co_return r.error();
      auto p = co_await aio::poll(fd, POLLOUT);
      if (!p) co_return p.error();
      continue;
    }
    b = b.subspan(*r);
  }
  co_return aio::Result<void>{};
}

aio::Task<void> writer(Shared& sh) {
  std::vector<std::byte> out;
  for (;;) {
    while (sh.pending.empty() && !sh.closing) {
      sh.data.reset();
      if (!co_await sh.data.wait()) break; // stopped: after the flush grace
    }
    if (sh.pending.empty()) break;
    std::swap(out, sh.pending);
    sh.pending.clear();
    sh.room.set();
    auto r = co_await write_out(sh.out_fd, out);
    out.clear();
    if (!r) {
      if (r.cancelled()) break;
      if (r.error() == std::errc::broken_pipe) {
        sh.broken = true;
      } else {
        fmt::print(stderr, "afifo: {}: {}\n", sh.out_name, errtext(r.error()));
        sh.failed = true;
      }
      // Nothing more can go out: stop reading, and forget what waits.
      sh.pending.clear();
      sh.room.set();
      if (sh.readers != nullptr) sh.readers->request_stop();
      break;
    }
  }
  sh.writer_done.set();
}

// Reads `in` until it ends (a file's end; a FIFO's writer leaving under
// --until=eof), fails, or the readers are stopped.
aio::Task<void> read_input(Shared& sh, Input& in) {
  Framer f(sh.opts.framing, sh.opts.max_record);
  std::vector<std::byte> buf(kReadSize);
  aio::Mutex::Guard long_record; // held while an over-long record goes out
  bool warned = false;
  const bool idle = sh.opts.idle_timeout.has_value();
  for (;;) {
    // if/else, not `c ? co_await a : co_await b`: g++ 12 mishandles that
    // form where the result owns something (lib/README.md).
    aio::Result<std::size_t> r = std::size_t{0};
    if (in.fifo)
      r = co_await in.fifo->read(buf);
    else
      r = co_await aio::read(in.plain_fd, buf);
    if (!r) {
      if (!r.cancelled()) {
        fmt::print(stderr, "afifo: {}: {}\n", in.name, errtext(r.error()));
        sh.failed = true;
      }
      break;
    }
    if (idle) sh.last_activity = std::chrono::steady_clock::now();
    if (*r == 0) {
      const bool is_fifo = in.fifo.has_value();
      // stdin's pipe ends for good, as a file does: no writer to mark.
      end_partial(sh, in, f, is_fifo && !in.path.empty());
      long_record.unlock();
      if (!is_fifo || sh.opts.until_eof || in.path.empty()) break;
      // The writer left: a fresh open waits for the next one (the old fd
      // would poll as hung up forever). Opened before the old one closes,
      // so bytes a next writer already wrote stay in the pipe.
      auto fresh = co_await aio::FifoReader::open(in.path, false);
      if (!fresh) {
        if (!fresh.cancelled()) {
          fmt::print(stderr, "afifo: {}: {}\n", in.name, errtext(fresh.error()));
          sh.failed = true;
        }
        break;
      }
      in.fifo = std::move(*fresh);
      continue;
    }
    // Another input is sending an over-long record: wait until it ends.
    if (!long_record) {
      long_record = sh.record_lock.try_lock();
      if (!long_record) {
        auto g = co_await sh.record_lock.lock();
        if (!g) break;
        long_record = std::move(*g);
      }
    }
    f.feed(std::span<const std::byte>(buf.data(), *r),
           [&](const Piece& p) { put_piece(sh, in, p); });
    if (f.oversized() > 0 && !warned) {
      warned = true;
      fmt::print(stderr,
                 "afifo: {}: a record is longer than --max-record ({} bytes): "
                 "delivered in pieces\n",
                 in.name, sh.opts.max_record);
    }
    if (!f.continuing()) long_record.unlock();
    while (sh.pending.size() >= kHighWater && !sh.broken) {
      sh.room.reset();
      if (!co_await sh.room.wait()) break;
    }
    if ((co_await aio::stop_token()).stop_requested()) break;
  }
  // Ended by a stop (signal, --idle-timeout, output gone): the record under
  // way is delivered as a partial one, unless another input is in the middle
  // of an over-long record (it would be cut into).
  if (f.in_record() && (long_record || !sh.record_lock.locked())) end_partial(sh, in, f, true);
  long_record.unlock();
  if (--sh.live == 0 && sh.readers != nullptr) sh.readers->request_stop(); // the idle watch
}

aio::Task<void> idle_watch(Shared& sh, std::chrono::nanoseconds idle) {
  for (;;) {
    const auto due = sh.last_activity + idle;
    const auto now = std::chrono::steady_clock::now();
    if (now >= due) {
      sh.readers->request_stop();
      co_return;
    }
    if (!co_await aio::sleep_for(due - now)) co_return;
  }
}

aio::Task<void> flush_deadline(Shared& sh, aio::Scope& writers) {
  auto wait = [](Shared& s) -> aio::Task<aio::Result<void>> {
    co_return co_await s.writer_done.wait();
  };
  auto t = co_await aio::with_timeout(wait(sh), kFlushGrace);
  if (t.timed_out) writers.request_stop();
}

// Opens every input; a bad one is reported and the run does not start.
aio::Task<bool> open_inputs(const MuxOptions& o, std::vector<std::unique_ptr<Input>>& ins) {
  bool ok = true;
  std::size_t index = 0;
  // FIFOs seen so far: two readers on one FIFO would each get part of a
  // record, so one named twice (or under two names) is refused.
  std::vector<std::pair<std::pair<dev_t, ino_t>, std::string>> fifos_seen;
  for (const auto& name : o.inputs) {
    auto in = std::make_unique<Input>();
    in->name = name;
    ++index;
    if (o.tag) in->tag = format_tag(*o.tag, name, index);
    struct stat st {};
    if (name == "-") {
      if (fstat(0, &st) != 0) {
        fmt::print(stderr, "afifo: -: {}\n", std::strerror(errno));
        ok = false;
        continue;
      }
      if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
        // A copy of fd 0, so fd 0 itself is left as it was.
        auto r = aio::FifoReader::adopt(aio::UniqueFd(fcntl(0, F_DUPFD_CLOEXEC, 3)), "", false);
        if (!r) {
          fmt::print(stderr, "afifo: -: {}\n", errtext(r.error()));
          ok = false;
          continue;
        }
        in->fifo = std::move(*r);
      } else {
        in->plain_fd = 0;
      }
      ins.push_back(std::move(in));
      continue;
    }
    if (o.create && ::mkfifo(name.c_str(), *o.create) != 0 && errno != EEXIST) {
      fmt::print(stderr, "afifo: {}: {}\n", name, std::strerror(errno));
      ok = false;
      continue;
    }
    if (::stat(name.c_str(), &st) != 0) {
      fmt::print(stderr, "afifo: {}: {}\n", name, std::strerror(errno));
      ok = false;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      fmt::print(stderr, "afifo: {}: {}\n", name, std::strerror(EISDIR));
      ok = false;
      continue;
    }
    if (S_ISFIFO(st.st_mode)) {
      const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
      auto seen = std::find_if(fifos_seen.begin(), fifos_seen.end(),
                               [&](const auto& f) { return f.first == id; });
      if (seen != fifos_seen.end()) {
        fmt::print(stderr, "afifo: {}: the same FIFO as {}\n", name, seen->second);
        ok = false;
        continue;
      }
      fifos_seen.emplace_back(id, name);
      in->path = name;
      auto r = co_await aio::FifoReader::open(name, false);
      if (!r) {
        if (!r.cancelled()) fmt::print(stderr, "afifo: {}: {}\n", name, errtext(r.error()));
        ok = false;
        continue;
      }
      in->fifo = std::move(*r);
    } else {
      auto r = co_await aio::openat(AT_FDCWD, name.c_str(), O_RDONLY | O_CLOEXEC);
      if (!r) {
        if (!r.cancelled()) fmt::print(stderr, "afifo: {}: {}\n", name, errtext(r.error()));
        ok = false;
        continue;
      }
      in->file = std::move(*r);
      in->plain_fd = in->file.get();
    }
    ins.push_back(std::move(in));
  }
  co_return ok;
}

// The output: stdout, a FIFO (waited for until it has a reader), or a file
// (created or truncated).
aio::Task<aio::Result<aio::UniqueFd>> open_output(const std::string& name) {
  struct stat st {};
  if (::stat(name.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    auto fd = co_await aio::open_fifo_write(name);
    if (!fd) co_return fd.error();
    // Blocking from here on: the ring waits for room itself, no EAGAIN.
    int fl = fcntl(fd->get(), F_GETFL);
    if (fl >= 0) fcntl(fd->get(), F_SETFL, fl & ~O_NONBLOCK);
    co_return std::move(*fd);
  }
  co_return co_await aio::openat(AT_FDCWD, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                 0666);
}

// Reading a pipe on stdin makes its file description O_NONBLOCK, and the
// shell shares it: its flags are put back as they were when mux ends.
struct StdinFlags {
  int flags = fcntl(STDIN_FILENO, F_GETFL);
  StdinFlags() = default;
  StdinFlags(const StdinFlags&) = delete;
  StdinFlags& operator=(const StdinFlags&) = delete;
  ~StdinFlags() {
    if (flags >= 0) fcntl(STDIN_FILENO, F_SETFL, flags);
  }
};

} // namespace

aio::Task<int> run_mux(MuxOptions opts) {
  const StdinFlags stdin_flags;
  std::vector<std::unique_ptr<Input>> inputs;
  if (!co_await open_inputs(opts, inputs)) co_return 1;
  if ((co_await aio::stop_token()).stop_requested()) co_return 1;

  Shared sh(opts);
  aio::UniqueFd out_file;
  if (opts.output != "-") {
    sh.out_name = opts.output;
    auto fd = co_await open_output(opts.output);
    if (!fd) {
      if (fd.cancelled()) co_return 1;
      fmt::print(stderr, "afifo: {}: {}\n", opts.output, errtext(fd.error()));
      co_return 1;
    }
    out_file = std::move(*fd);
    sh.out_fd = out_file.get();
  } else {
    sh.out_name = "standard output";
  }

  // The writer runs outside the stop of a signal: whole records already
  // read still go out (bounded by kFlushGrace), and no write is cancelled
  // half done, which could cut a record.
  aio::Scope writers{aio::StopToken()};
  writers.spawn(writer(sh));
  {
    aio::Scope readers(co_await aio::stop_token());
    sh.readers = &readers;
    sh.live = inputs.size();
    for (auto& in : inputs)
      readers.spawn(read_input(sh, *in));
    if (opts.idle_timeout && sh.live > 0) readers.spawn(idle_watch(sh, *opts.idle_timeout));
    co_await readers.join();
    sh.readers = nullptr;
  }
  sh.closing = true;
  sh.data.set();
  if ((co_await aio::stop_token()).stop_requested()) writers.spawn(flush_deadline(sh, writers));
  co_await writers.join();
  if (out_file) (void)co_await aio::close(std::move(out_file));
  if (sh.broken) co_return kBrokenPipe;
  const int rc = sh.failed ? 1 : 0;
  co_return rc;
}

namespace {
// The options as the command line gives them, checked by CLI11; turned
// into MuxOptions when the subcommand is chosen.
struct MuxArgs {
  MuxOptions o;
  std::string framing = "line";
  std::string tag;
  std::string until;
  std::string idle;
  std::string partial = "mark";
  std::string create;
  std::string max_record;
};
} // namespace

void setup_mux(CLI::App& app, Command& cmd) {
  auto args = std::make_shared<MuxArgs>();
  auto* sub = app.add_subcommand(
      "mux", "Fan-in: read many FIFOs, files or stdin at once and write one stream of whole "
             "records (stdout by default).");
  sub->add_option("IN", args->o.inputs,
                  "FIFOs, files, or - for stdin. A FIFO is kept open across writers: when one "
                  "leaves, the next is waited for.")
      ->required();
  sub->add_option("-o,--output", args->o.output,
                  "Write to OUT (a FIFO waits for its reader; a "
                  "file is created or truncated)")
      ->option_text("OUT");
  add_framing_option(*sub, args->framing,
                     "What a record is: line (ends with \\n, the default), null (ends with \\0), "
                     "raw (chunks as read: no record promise)");
  add_optional_value(
      *sub, "--tag", args->tag, "FORMAT",
      "Prefix each record with its source. FORMAT may use {name} and {index} (1-based); "
      "default '{name}: '. Give FORMAT as --tag=FORMAT.");
  sub->add_option("--until", args->until,
                  "eof: end once every input has had a writer and each has gone (files at their "
                  "end). Without it FIFOs are followed until a signal or --idle-timeout.")
      ->check(CLI::IsMember({"eof"}))
      ->option_text("eof");
  add_duration_option(*sub, "--idle-timeout", args->idle,
                      "End after DURATION with no input (500ms, 2s, 1m; no suffix: seconds)");
  sub->add_option("--partial", args->partial,
                  "A record cut short by its writer leaving: mark (delivered alone, ending with "
                  "'[afifo: partial record]' and the terminator; the default) or drop")
      ->check(CLI::IsMember({"mark", "drop"}))
      ->option_text("mark|drop");
  add_optional_value(*sub, "--create", args->create, "MODE",
                     "Make missing input FIFOs, with MODE (octal, default 600). Give MODE as "
                     "--create=MODE.")
      ->check(CLI::Validator(check_mode, ""));
  add_size_option(*sub, "--max-record", args->max_record,
                  "Longest record kept whole (default 16M); a longer one goes out in pieces, "
                  "with a warning");
  sub->footer(R"(Records of one input are never split, and records of different inputs never
interleave. A writer that leaves in the middle of a record: what it wrote
goes out alone, marked (see --partial), never glued to the next writer's
data. Several writers at once on one FIFO: mux sees them as one stream, so
each should write a record in one write() of at most PIPE_BUF (4096) bytes.

Ends: at SIGINT/SIGTERM (whole records already read are written, then it dies
of the signal), after --idle-timeout, at --until=eof, or when every input is
a file (or stdin) read to its end. Exit: 0; 1 after an error (afifo: NAME:
reason); 2 for a usage error.

Example: afifo mux --tag --create /tmp/a.fifo /tmp/b.fifo -o log.txt)");
  sub->callback([args, &cmd] {
    MuxOptions o = args->o;
    parse_framing(args->framing, o.framing);
    if (!args->tag.empty()) o.tag = is_bare(args->tag) ? std::string("{name}: ") : args->tag;
    o.until_eof = args->until == "eof";
    if (!args->idle.empty()) o.idle_timeout = parse_duration(args->idle);
    o.drop_partial = args->partial == "drop";
    if (!args->create.empty())
      o.create = is_bare(args->create) ? mode_t{0600} : *parse_mode(args->create);
    if (!args->max_record.empty()) o.max_record = *parse_size(args->max_record);
    cmd.run = [o]() { return run_mux(o); };
  });
}

} // namespace afifo
