#include "run.hpp"

#include "follow.hpp"
#include "input.hpp"
#include "output.hpp"
#include "tail.hpp"

#include "aio/ops.hpp"
#include "aio/race.hpp"
#include "aio/sync.hpp"
#include "quote.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace acat {
namespace {

// Ends (true) when stdout is a pipe or socket whose reader has gone: POLLERR
// comes even while nothing is written, e.g. while blocked on a silent FIFO.
aio::Task<bool> stdout_closed() {
  struct stat st {};
  if (fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    auto r = co_await aio::poll(STDOUT_FILENO, POLLERR | POLLHUP);
    co_return r.ok();
  }
  aio::Event never;
  (void)co_await never.wait();
  co_return false;
}

bool is_directory(const Input& in) {
  if (in.kind != Kind::Other || !in.fd) return false;
  auto st = stat_fd(in.fd.get());
  return st && S_ISDIR(st->st_mode);
}

// cat's refusal: a file copied onto its own end would grow until the disk
// is full. Allowed when nothing is left to read (`acat f > f`: the shell
// emptied it).
bool copies_onto_itself(const Context& ctx, const Input& in) {
  if (in.kind != Kind::Regular || !ctx.out.is_file(in.dev, in.ino)) return false;
  auto st = stat_fd(in.fd.get());
  return st && static_cast<std::uint64_t>(st->st_size) > in.pos;
}

// "-" with fd 0 closed at the start: what cat and tail say of it. cat
// cannot read it; tail cannot fstat it and, to follow it, reads it once
// more (coreutils' tail-2/follow-stdin.sh). run() adds the failed close.
aio::Task<aio::Result<void>> closed_stdin(Context& ctx, Input& in) {
  const auto ebadf = std::make_error_code(std::errc::bad_file_descriptor);
  ctx.read_closed_stdin = true;
  in.done = true;
  if (!ctx.tail_style()) {
    ctx.report(ctx.quoted(in), ebadf);
    co_return aio::Result<void>{};
  }
  if (auto h = co_await ctx.out.header(in.src); !h) co_return h;
  ctx.report("cannot fstat " + ctx.quoted(in), ebadf);
  if (ctx.opts.follow != Follow::None) ctx.report_read(in, ebadf);
  co_return aio::Result<void>{};
}

aio::Task<aio::Result<void>> work(Context& ctx, std::vector<std::unique_ptr<Input>>& inputs) {
  const Options& o = ctx.opts;
  bool following = o.follow != Follow::None;
  // To follow, every operand is opened before anything is printed, as tail
  // in effect does (its stdout is flushed only after the next open): a
  // script that sees the first file's tail and then removes the second
  // file must find it followed ("No such file"), not missing from the
  // start (coreutils' tail-2/assert.sh, on a loaded machine). cat opens
  // one at a time: thousands of operands must not hold thousands of fds.
  std::vector<aio::Result<void>> early(following ? inputs.size() : 0);
  for (std::size_t i = 0; i < early.size(); ++i) {
    if (inputs[i]->is_stdin() && o.stdin_closed) continue;
    early[i] = co_await open_input(*inputs[i], true);
    if (!early[i] && early[i].cancelled()) co_return early[i].error();
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto& in = inputs[i];
    if (in->is_stdin() && o.stdin_closed) {
      if (auto w = co_await closed_stdin(ctx, *in); !w) co_return w;
      continue;
    }
    // (Not a ?: with co_await: GCC 12 miscompiles it.)
    aio::Result<void> opened = following ? early[i] : aio::Result<void>{};
    if (!following) opened = co_await open_input(*in, false);
    if (!opened) {
      if (opened.cancelled()) co_return opened.error();
      ctx.report_open(*in, opened.error());
      in->open_error = opened.error();
      // --retry waits for it to appear (-F by name; --follow=descriptor
      // until it is opened once); otherwise it is skipped like cat does.
      if (!(following && o.retry) || in->is_stdin()) in->done = true;
      continue;
    }
    // A followed FIFO has no end to take the tail of: it is only streamed.
    if (following && in->kind == Kind::Fifo) continue;
    if (o.mode == Mode::Cat && copies_onto_itself(ctx, *in)) {
      ctx.note(ctx.quoted(*in) + ": input file is output file");
      ctx.had_error = true;
      in->fd.reset();
      in->done = true;
      continue;
    }
    if (auto h = co_await ctx.out.header(in->src); !h) co_return h;
    if (auto w = co_await first_pass(ctx, *in); !w) co_return w;
    if (following && is_directory(*in)) {
      // tail's words ("giving up" unless --retry, even by descriptor where
      // it gives up all the same). With -F it waits for the name to become a file.
      bool wait = o.follow == Follow::Name && o.retry && !in->is_stdin();
      ctx.note(tools::quote_if_needed(in->src.name) + ": cannot follow end of this type of file" +
               (o.retry ? "" : "; giving up on this name"));
      ctx.had_error = true;
      in->fd.reset();
      in->done = !wait;
      in->untailable = wait;
      continue;
    }
    if (!following) {
      if (auto w = co_await ctx.out.end_of(in->src); !w) co_return w;
      // Reads at explicit offsets leave the file offset alone; cat's and
      // tail's reads move it, and `(acat; cat) < f` must not print f twice.
      if (in->is_stdin() && in->kind == Kind::Regular)
        (void)lseek(in->fd.get(), static_cast<off_t>(in->pos), SEEK_SET);
      in->fd.reset();
      in->fifo.reset();
      in->done = true;
    }
  }
  if (following) co_return co_await follow(ctx, inputs);
  if (ctx.display != nullptr && !inputs.empty()) {
    std::string rest;
    ctx.display->finish(rest);
    if (!rest.empty())
      if (auto w = co_await ctx.out.emit(inputs.back()->src, as_bytes(std::span(rest))); !w)
        co_return w;
  }
  co_return aio::Result<void>{};
}

} // namespace

// stdout closed at start: main holds fd 1 with /dev/null opened read-only.
static bool stdout_unwritable() {
  const int fl = fcntl(STDOUT_FILENO, F_GETFL);
  return fl < 0 || (fl & O_ACCMODE) == O_RDONLY;
}

aio::Task<int> run(const Options& opts) {
  // tail's warnings for options that do nothing without a follow.
  if (opts.retry && opts.follow == Follow::None)
    fmt::print(stderr, "acat: warning: --retry ignored; --retry is useful only when following\n");
  else if (opts.retry && opts.follow == Follow::Descriptor)
    fmt::print(stderr, "acat: warning: --retry only effective for the initial open\n");
  if (opts.pid && opts.follow == Follow::None)
    fmt::print(stderr, "acat: warning: PID ignored; --pid=PID is useful only when following\n");
  // cat says so before reading anything, and tail before following (it
  // would wait forever to write nowhere); tail alone only fails to write.
  // Following by name needs a name (no operand is "-"): tail refuses it first.
  if (opts.follow == Follow::Name &&
      (opts.files.empty() ||
       std::find(opts.files.begin(), opts.files.end(), "-") != opts.files.end())) {
    fmt::print(stderr, "acat: cannot follow {} by name\n", tools::quote("-"));
    co_return 1;
  }
  // tail reads nothing when it would print nothing: `-n 0 missing` is no error.
  if (opts.mode != Mode::Cat && opts.count.n == 0 && !opts.count.from_start &&
      opts.follow == Follow::None)
    co_return 0;
  if ((opts.mode == Mode::Cat || opts.follow != Follow::None) && stdout_unwritable()) {
    fmt::print(stderr, "acat: standard output: Bad file descriptor\n");
    co_return 1;
  }
  bool headers = !opts.prefix && !opts.quiet &&
                 (opts.verbose || (opts.files.size() > 1 &&
                                   (opts.mode != Mode::Cat || opts.follow != Follow::None)));
  Output out(STDOUT_FILENO, headers, opts.prefix, opts.follow == Follow::None);
  if (opts.idle_timeout) out.track_activity();
  Context ctx{opts, out, false, {}};
  std::optional<Display> display;
  if (opts.display.any()) ctx.display = &display.emplace(opts.display);
  std::vector<std::unique_ptr<Input>> inputs;
  std::vector<std::string> names = opts.files;
  if (names.empty()) names.push_back("-");
  for (const auto& n : names) {
    auto in = std::make_unique<Input>();
    in->path = n;
    in->src.name = n == "-" ? "standard input" : n;
    inputs.push_back(std::move(in));
  }
  // Reading a pipe on stdin makes its file description O_NONBLOCK, which
  // the shell shares: put the flags back as they were.
  int stdin_flags = fcntl(STDIN_FILENO, F_GETFL);

  auto r = co_await aio::race(work(ctx, inputs), stdout_closed());
  inputs.clear();
  if (stdin_flags >= 0) fcntl(STDIN_FILENO, F_SETFL, stdin_flags);

  if (out.broken() || (r.winner == 1 && r.second)) co_return kBrokenPipe;
  if (r.winner == 0 && !r.first) {
    if (r.first.cancelled()) co_return 1;
    fmt::print(stderr, "acat: write error: {}\n", r.first.error().message());
    co_return 1;
  }
  if (ctx.read_closed_stdin) {
    // Both close stdin at the end when they read it, and say that it failed.
    ctx.note(ctx.tail_style() ? "-: Bad file descriptor"
                              : "closing standard input: Bad file descriptor");
    ctx.had_error = true;
  }
  const int rc = ctx.had_error ? 1 : 0;
  co_return rc;
}

} // namespace acat
