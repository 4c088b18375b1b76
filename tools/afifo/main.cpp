// afifo: the command line. Each subcommand's options and logic are in its
// own files (mux, tee, latest); this only parses and runs the chosen one.
#include "command.hpp"

#include "aio/runtime.hpp"
#include "aio/signals.hpp"

#include <fmt/core.h>

#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"afifo: multiplex named pipes between processes, on one thread"};
  app.name("afifo");
  app.require_subcommand(1, 1);
  app.set_version_flag(
      "--version", [] { return fmt::format("afifo {}\n{}", AFIFO_VERSION, aio::backend_line()); });
  afifo::Command cmd;
  afifo::setup_mux(app, cmd);
  afifo::setup_tee(app, cmd);
  afifo::setup_latest(app, cmd);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, then the pointer to --help; usage errors exit 2.
    fmt::print(stderr, "afifo: {}\nTry 'afifo --help' for more information.\n", e.what());
    return 2;
  }
  if (std::fflush(stdout) != 0) return 1;
  if (!cmd.run) return 2;
  std::string why;
  auto rt = aio::Runtime::create(aio::default_runtime_options(), &why);
  if (!rt) {
    fmt::print(stderr, "afifo: {}\n", why);
    return 1;
  }
  int code = (*rt)->block_on(aio::run_interruptible(cmd.run()));
  rt->reset();
  return aio::exit_status(code);
}
