// afifo's subcommands, each set up in its own file (CLI11's
// subcom_in_files shape): setup_X adds the subcommand and its options to the
// app and, when that subcommand is parsed, stores how to run it in Command.
#pragma once

#include "aio/task.hpp"

#include <CLI/CLI.hpp>

#include <functional>

namespace afifo {

struct Command {
  // Set by the parsed subcommand's callback; returns the exit code
  // (0, 1 on an error; a signal is handled by run_interruptible).
  std::function<aio::Task<int>()> run;
};

void setup_mux(CLI::App& app, Command& cmd);
void setup_tee(CLI::App& app, Command& cmd);
void setup_latest(CLI::App& app, Command& cmd);

} // namespace afifo
