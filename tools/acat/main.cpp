// acat: the command line. Parsing only; run.cpp does the work.
#include "options.hpp"
#include "run.hpp"

#include "aio/runtime.hpp"
#include "aio/signals.hpp"

#include <fmt/core.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// --help and --version as GNU prints them: a write error (a full disk,
// a closed stdout) is reported and is exit 1.
int print_or_fail(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    fmt::print(stderr, "acat: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

// Following many files needs as many descriptors: use what the hard limit allows.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// A closed stdin/stdout/stderr would be taken by the next fd we open (the
// ring, an input), and acat would write into it. Hold each closed one with
// /dev/null opened the wrong way round, so using it fails with EBADF as
// it does for cat. Returns whether stdin was one of them: tail and cat
// say so in their own words (run.cpp).
bool reserve_std_fds() {
  bool stdin_closed = false;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (fd == 0) stdin_closed = true;
    int got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (got >= 0 && got != fd) close(got);
  }
  return stdin_closed;
}

} // namespace

int main(int argc, char** argv) {
  const bool stdin_closed = reserve_std_fds();
  acat::Options opts;
  std::string error;
  switch (acat::parse(argc, argv, opts, error)) {
  case acat::ParseOutcome::Help: return print_or_fail(acat::help_text());
  case acat::ParseOutcome::Version:
    return print_or_fail(std::string("acat ") + ACAT_VERSION + "\n" + aio::backend_line() + "\n");
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
