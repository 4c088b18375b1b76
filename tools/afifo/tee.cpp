// afifo tee: placeholder registration; the subcommand is not built yet.
#include "command.hpp"

#include <fmt/core.h>

namespace afifo {

void setup_tee(CLI::App& app, Command& cmd) {
  auto* sub = app.add_subcommand("tee", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&cmd] {
    cmd.run = []() -> aio::Task<int> {
      fmt::print(stderr, "afifo: tee: not implemented yet\n");
      co_return 1;
    };
  });
}

} // namespace afifo
