// One run: make the test directory, run the selected scenarios, write the
// table, the JSON and the charts. Returns the exit code.
#pragma once

#include "figures.hpp"
#include "options.hpp"

namespace aiobench {

int run(const Options& opt);
// The measuring part alone (for tests): fills `report`.
void measure(const Options& opt, const std::string& dir, Report& report);
HostFacts host_facts(const std::string& dir);

} // namespace aiobench
