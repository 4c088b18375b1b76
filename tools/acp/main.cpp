// acp: the command line. Parsing is options.cpp, the copy is copy.cpp.
#include "copy.hpp"
#include "options.hpp"

#include "aio/runtime.hpp"
#include "aio/signals.hpp"

#include <fmt/core.h>

#include <sys/resource.h>

int main(int argc, char** argv) {
  acp::Options opts;
  std::string error;
  switch (acp::parse(argc, argv, opts, error)) {
  case acp::ParseOutcome::Help: fmt::print("{}", acp::help_text()); return 0;
  case acp::ParseOutcome::Version:
    fmt::print("acp {}\n{}\n", ACP_VERSION, aio::backend_line());
    return 0;
  case acp::ParseOutcome::UsageError:
    if (!error.empty()) fmt::print(stderr, "acp: {}\n", error);
    fmt::print(stderr, "Try 'acp --help' for more information.\n");
    return 1; // cp's code for usage errors
  case acp::ParseOutcome::Run: break;
  }
  // Two fds per file in flight and two per open directory.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  aio::RuntimeOptions ro = aio::default_runtime_options();
  ro.ring.max_iowq_workers = acp::kIowqWorkers;
  std::string why;
  auto rt = aio::Runtime::create(ro, &why);
  if (!rt) {
    fmt::print(stderr, "acp: {}\n", why);
    return 1;
  }
  int code = (*rt)->block_on(aio::run_interruptible(acp::run(opts)));
  rt->reset();
  return aio::exit_status(code);
}
