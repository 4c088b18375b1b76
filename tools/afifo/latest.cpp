// afifo latest: placeholder registration; the subcommand is not built yet.
#include "command.hpp"

#include <fmt/core.h>

namespace afifo {

void setup_latest(CLI::App& app, Command& cmd) {
  auto* sub = app.add_subcommand("latest", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&cmd] {
    cmd.run = []() -> aio::Task<int> {
      fmt::print(stderr, "afifo: latest: not implemented yet\n");
      co_return 1;
    };
  });
}

} // namespace afifo
