// The whole of acat once the command line is parsed.
#pragma once

#include "options.hpp"

#include "aio/task.hpp"

namespace acat {

// run() gives this when stdout's reader went away: main ends the process
// the way cat would (SIGPIPE), quietly.
inline constexpr int kBrokenPipe = -1;

aio::Task<int> run(const Options& opts);

} // namespace acat
