// acat: the command line. Parsing only; run.cpp does the work.
#include "options.hpp"
#include "run.hpp"
#include "std_fds.hpp"

#include "aio/runtime.hpp"
#include "aio/signals.hpp"

#include <fmt/core.h>

#include <signal.h>
#include <sys/resource.h>

#include <string>

namespace {

// Following many files needs as many descriptors: use what the hard limit allows.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

} // namespace

int main(int argc, char** argv) {
  // Closed ones are held (tools/common); tail and cat say a closed stdin
  // in their own words (run.cpp).
  const bool stdin_closed = (tools::reserve_std_fds() & 1u) != 0;
  acat::Options opts;
  std::string error;
  switch (acat::parse(argc, argv, opts, error)) {
  case acat::ParseOutcome::Help: return tools::print_or_fail("acat", acat::help_text());
  case acat::ParseOutcome::Version:
    return tools::print_or_fail("acat", std::string("acat ") + ACAT_VERSION + "\n" +
                                            aio::backend_line() + "\n");
  case acat::ParseOutcome::UsageError:
    if (!error.empty()) fmt::print(stderr, "acat: {}\n", error);
    fmt::print(stderr, "Try 'acat --help' for more information.\n");
    return 1; // tail's and cat's code for usage errors
  case acat::ParseOutcome::BadValue: fmt::print(stderr, "acat: {}\n", error); return 1;
  case acat::ParseOutcome::Run: break;
  }
  opts.stdin_closed = stdin_closed;

  // EPIPE is handled (quietly) where it happens; SIGPIPE is given back to
  // cat's default at the end if that was what we were started with.
  struct sigaction old_pipe {};
  sigaction(SIGPIPE, nullptr, &old_pipe);
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  std::string why;
  auto rt = aio::Runtime::create(aio::default_runtime_options(), &why);
  if (!rt) {
    fmt::print(stderr, "acat: {}\n", why);
    return 1;
  }
  int code = (*rt)->block_on(aio::run_interruptible(acat::run(opts)));
  rt->reset();
  if (code == acat::kBrokenPipe) {
    if (old_pipe.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_DFL);
      raise(SIGPIPE);
    }
    return 1;
  }
  return aio::exit_status(code);
}
