// acp: the command line. Parsing is options.cpp, the copy is copy.cpp.
#include "copy.hpp"
#include "options.hpp"
#include "std_fds.hpp"

#include "aio/runtime.hpp"
#include "aio/signals.hpp"

#include <fmt/core.h>

#include <sys/resource.h>

int main(int argc, char** argv) {
  tools::reserve_std_fds();
  acp::Options opts;
  std::string error;
  switch (acp::parse(argc, argv, opts, error)) {
  case acp::ParseOutcome::Help: return tools::print_or_fail("acp", acp::help_text());
  case acp::ParseOutcome::Version:
    return tools::print_or_fail("acp",
                                fmt::format("acp {}\n{}\n", ACP_VERSION, aio::backend_line()));
  case acp::ParseOutcome::UsageError:
    if (!error.empty()) fmt::print(stderr, "acp: {}\n", error);
    fmt::print(stderr, "Try 'acp --help' for more information.\n");
    return 1; // cp's code for usage errors
  case acp::ParseOutcome::Error: fmt::print(stderr, "acp: {}\n", error); return 1;
  case acp::ParseOutcome::Run: break;
  }
  for (const auto& w : opts.warnings)
    fmt::print(stderr, "acp: {}\n", w);
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
  // -v lines go through stdio: one lost (a full disk, a closed stdout) is
  // an error, as for cp.
  if (aio::interrupted_by() == 0 && !tools::close_stdout("acp") && code == 0) code = 1;
  return aio::exit_status(code);
}
