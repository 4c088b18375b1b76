// afifo mux: placeholder registration; the subcommand is not built yet.
#include "command.hpp"

#include <fmt/core.h>

namespace afifo {

void setup_mux(CLI::App& app, Command& cmd) {
  auto* sub = app.add_subcommand("mux", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&cmd] {
    cmd.run = []() -> aio::Task<int> {
      fmt::print(stderr, "afifo: mux: not implemented yet\n");
      co_return 1;
    };
  });
}

} // namespace afifo
