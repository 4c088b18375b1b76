// afifo: the command line. Each subcommand's options and logic are in its
// own files (mux, tee, latest); this only parses and runs the chosen one.
#include "command.hpp"
#include "common.hpp"
#include "std_fds.hpp"

#include "aio/runtime.hpp"
#include "aio/signals.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace {
// Help that shows options with an optional value as such (see
// afifo::add_optional_value).
class Formatter final : public CLI::Formatter {
public:
  // "--tag{<kBareFlag>FORMAT}" (see add_optional_value) is shown as "--tag[=FORMAT]".
  std::string make_option_name(const CLI::Option* opt, bool positional) const override {
    std::string name = CLI::Formatter::make_option_name(opt, positional);
    const std::string open = std::string("{") + afifo::kBareFlag;
    for (auto at = name.find(open); at != std::string::npos; at = name.find(open)) {
      const auto close = name.find('}', at);
      if (close == std::string::npos) break;
      name.replace(at, close + 1 - at, "[=" + name.substr(at + 2, close - at - 2) + "]");
    }
    return name;
  }
};

// --help and --version: a failed write (stdout on a full disk) is an error.
int print_and_exit(CLI::App& app, const CLI::Error& e) {
  errno = 0;
  int code = app.exit(e);
  std::cout.flush();
  if (!std::cout) {
    fmt::print(stderr, "afifo: write error: {}\n", std::strerror(errno != 0 ? errno : EIO));
    return 1;
  }
  return code;
}
} // namespace

int main(int argc, char** argv) {
  tools::reserve_std_fds();
  CLI::App app{"afifo: multiplex named pipes between processes, on one thread"};
  app.name("afifo");
  app.require_subcommand(1, 1);
  app.formatter(std::make_shared<Formatter>());
  app.set_version_flag(
      "--version", [] { return fmt::format("afifo {}\n{}", AFIFO_VERSION, aio::backend_line()); });
  afifo::Command cmd;
  afifo::setup_mux(app, cmd);
  afifo::setup_tee(app, cmd);
  afifo::setup_latest(app, cmd);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return print_and_exit(app, e);
  } catch (const CLI::CallForAllHelp& e) {
    return print_and_exit(app, e);
  } catch (const CLI::CallForVersion& e) {
    return print_and_exit(app, e);
  } catch (const CLI::ParseError& e) {
    // One line, then the pointer to --help; usage errors exit 2.
    // The pointer names the subcommand's own help when one was chosen.
    std::string help = "afifo --help";
    for (const auto* sub : app.get_subcommands())
      help = "afifo " + sub->get_name() + " --help";
    fmt::print(stderr, "afifo: {}\nTry '{}' for more information.\n", e.what(), help);
    return 2;
  }
  if (std::fflush(stdout) != 0) return 1;
  if (!cmd.run) return 2;
  // EPIPE is handled where it happens (mux ends, tee drops that output);
  // SIGPIPE is given back at the end if it was the disposition we got.
  struct sigaction old_pipe {};
  sigaction(SIGPIPE, nullptr, &old_pipe);
  signal(SIGPIPE, SIG_IGN);
  std::string why;
  auto rt = aio::Runtime::create(aio::default_runtime_options(), &why);
  if (!rt) {
    fmt::print(stderr, "afifo: {}\n", why);
    return 1;
  }
  int code = (*rt)->block_on(aio::run_interruptible(cmd.run()));
  rt->reset();
  if (code == afifo::kBrokenPipe) {
    // The output's reader went away: end quietly, as cat does.
    if (old_pipe.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_DFL);
      raise(SIGPIPE);
    }
    return 1;
  }
  return aio::exit_status(code);
}
