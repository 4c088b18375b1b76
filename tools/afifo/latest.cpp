// afifo latest: the command line and the runner. One task reads IN and
// keeps only the newest record; the runner runs COMMAND for it, watches the
// child's pidfd on the ring, and stops the run when a newer record comes.
#include "latest.hpp"

#include "aio/ops.hpp"
#include "aio/pidfd.hpp"
#include "aio/race.hpp"
#include "aio/scope.hpp"
#include "aio/sync.hpp"
#include "command.hpp"
#include "common.hpp"
#include "latest_child.hpp"
#include "tee_input.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <memory>

namespace afifo::tee_latest {

bool LatestRecord::feed(std::span<const std::byte> data) {
  bool got = false;
  std::size_t at = 0;
  while (at < data.size()) {
    const std::size_t e = next_record_end(data, at, framing_);
    const std::size_t stop = e == kNoEnd ? data.size() : e;
    if (!skipping_) {
      partial_.append(reinterpret_cast<const char*>(data.data() + at), stop - at);
      if (partial_.size() > kMaxLatestRecord) {
        skipping_ = true;
        ++skipped_long_;
        partial_.clear();
        partial_.shrink_to_fit();
      }
    }
    if (e == kNoEnd) break;
    if (!skipping_) {
      latest_ = std::move(partial_);
      got = true;
    }
    partial_.clear();
    skipping_ = false;
    at = e;
  }
  return got;
}

bool LatestRecord::finish() {
  if (skipping_ || partial_.empty()) return false;
  latest_ = std::move(partial_);
  partial_.clear();
  return true;
}

namespace {

class Latest {
public:
  explicit Latest(const LatestOptions& o)
      : opts_(o), records_(o.framing), substitute_(wants_substitution(o.command)) {}
  aio::Task<int> run();

private:
  enum class End { Exited, Superseded, Stopped };
  aio::Task<void> read_input(Input& in);
  aio::Task<void> woken() { (void)co_await wake_.wait(); }
  aio::Task<void> feed(aio::UniqueFd fd, std::string record);
  aio::Task<void> stop_child(Child& c);
  // Runs COMMAND for `record` until it exits, a newer record comes or we
  // are stopped; the child is reaped before this returns. Gives the run's
  // status, or nothing when it could not be started.
  aio::Task<std::optional<int>> run_one(std::string record);

  const LatestOptions& opts_;
  LatestRecord records_;
  bool substitute_;
  bool eof_ = false;
  aio::Event wake_; // a record arrived or the input ended
  int status_ = 0;
};

aio::Task<void> Latest::read_input(Input& in) {
  std::vector<std::byte> buf(std::size_t{64} << 10);
  for (;;) {
    auto r = co_await in.read(buf);
    if (!r) {
      if (!r.cancelled()) {
        fmt::print(stderr, "afifo: {}: {}\n", display_name(opts_.input, false),
                   r.error().message());
        status_ = 1;
      }
      break;
    }
    if (*r == 0) {
      records_.finish();
      break;
    }
    const std::size_t long_before = records_.skipped_long();
    if (records_.feed(std::span(buf).first(*r))) wake_.set();
    if (records_.skipped_long() != long_before)
      fmt::print(stderr, "afifo: a record longer than {} bytes is skipped\n", kMaxLatestRecord);
  }
  eof_ = true;
  wake_.set();
}

aio::Task<void> Latest::feed(aio::UniqueFd fd, std::string record) {
  // The child may exit without reading it (EPIPE) or be stopped: either
  // way the pipe is closed here, so a reading child sees its EOF.
  std::size_t done = 0;
  while (done < record.size()) {
    auto r = co_await write_ready(
        fd.get(), std::as_bytes(std::span(record.data() + done, record.size() - done)));
    if (!r || *r == 0) break;
    done += *r;
  }
}

aio::Task<void> Latest::stop_child(Child& c) {
  c.signal(SIGTERM);
  auto t = co_await aio::with_timeout(aio::wait_exit(c.pidfd()), opts_.grace);
  if (!t.timed_out && t.value) co_return;
  c.signal(SIGKILL);
  (void)co_await aio::wait_exit(c.pidfd());
}

aio::Task<std::optional<int>> Latest::run_one(std::string record) {
  aio::UniqueFd child_in;
  aio::UniqueFd to_child;
  if (!substitute_) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      fmt::print(stderr, "afifo: pipe: {}\n", std::strerror(errno));
      co_return std::nullopt;
    }
    child_in.reset(p[0]);
    to_child.reset(p[1]);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
  }
  std::string chomped = record;
  if (substitute_ && opts_.framing != Framing::Raw && !chomped.empty() &&
      chomped.back() == (opts_.framing == Framing::Null ? '\0' : '\n'))
    chomped.pop_back();
  auto child = Child::spawn(substitute_ ? substitute(opts_.command, chomped) : opts_.command,
                            child_in.get());
  child_in.reset(); // the child has its copy
  if (!child) {
    fmt::print(stderr, "afifo: {}: {}\n", opts_.command[0], child.error().message());
    co_return std::nullopt;
  }
  End end = End::Stopped;
  {
    aio::Scope feeding(co_await aio::stop_token());
    if (to_child) feeding.spawn(feed(std::move(to_child), std::move(record)));
    for (;;) {
      if (records_.has()) {
        end = End::Superseded;
        break;
      }
      wake_.reset();
      auto r = co_await aio::race(aio::wait_exit(child->pidfd()), woken());
      if (r.first) {
        end = End::Exited;
        break;
      }
      if ((co_await aio::stop_token()).stop_requested()) break;
      // Woken by a record (checked above) or by the end of the input
      // (the run goes on to its end).
    }
    feeding.request_stop();
    co_await feeding.join();
  }
  if (end != End::Exited) {
    // Stopping the child must finish even when we are being stopped
    // (SIGINT/SIGTERM): a scope nothing outside can stop.
    aio::Scope unstoppable{aio::StopToken()};
    unstoppable.spawn(stop_child(*child));
    co_await unstoppable.join();
  }
  auto status = child->reap();
  if (!status) {
    fmt::print(stderr, "afifo: waitid: {}\n", status.error().message());
    co_return std::nullopt;
  }
  co_return *status;
}

aio::Task<int> Latest::run() {
  // A child that does not read its record is EPIPE, not our death; the
  // children get the default back (posix_spawn's SETSIGDEF).
  signal(SIGPIPE, SIG_IGN);
  const bool follow = !opts_.exit_on_eof;
  auto in = co_await Input::open(opts_.input, follow);
  if (!in) {
    fmt::print(stderr, "afifo: {}: {}\n", display_name(opts_.input, false), in.error().message());
    co_return 1;
  }
  int last = 0;
  {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(read_input(*in));
    for (;;) {
      while (!records_.has() && !eof_) {
        wake_.reset();
        if (!co_await wake_.wait()) break;
      }
      if (!records_.has()) break; // the end of the input, or stopped
      if ((co_await aio::stop_token()).stop_requested()) break;
      auto status = co_await run_one(records_.take());
      if (!status) {
        status_ = 1;
        break;
      }
      last = *status;
      if ((co_await aio::stop_token()).stop_requested()) break;
    }
    scope.request_stop();
    co_await scope.join();
  }
  if (status_ != 0) co_return status_;
  const int rc = opts_.exit_on_eof ? last : 0;
  co_return rc;
}

} // namespace

aio::Task<int> run_latest(const LatestOptions& opts) {
  Latest l(opts);
  co_return co_await l.run();
}

} // namespace afifo::tee_latest

namespace afifo {

using namespace tee_latest;

void setup_latest(CLI::App& app, Command& cmd) {
  struct Args {
    LatestOptions o;
    std::string framing = "line", grace;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "latest", "Run COMMAND for each record of IN; a newer record stops the run and replaces it");
  sub->add_option("IN", args->o.input, "Input: a FIFO, a file or - (stdin)")->required();
  sub->add_option("COMMAND", args->o.command, "The command and its arguments ({}: the record)")
      ->required();
  add_framing_option(*sub, args->framing, "Records: line (the default), null, raw (each read)");
  add_duration_option(*sub, "--grace", args->grace,
                      "Time a stopped run has between SIGTERM and SIGKILL (default 1s)");
  sub->add_flag("--exit-on-eof", args->o.exit_on_eof,
                "At the end of IN, wait for the last run and exit with its status");
  sub->callback([&cmd, args] {
    auto opts = std::make_shared<LatestOptions>(args->o);
    opts->framing = *parse_framing(args->framing);
    if (!args->grace.empty()) opts->grace = *parse_duration(args->grace);
    cmd.run = [opts]() -> aio::Task<int> { co_return co_await run_latest(*opts); };
  });
}

} // namespace afifo
