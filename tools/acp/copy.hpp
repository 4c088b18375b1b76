// acp's run step: copies the operands as cp does, each file written where no
// one sees it (O_TMPFILE, a hidden name, or a directory acp is still filling
// under a hidden name) and put under its name only when whole. Many files
// are in flight at once on the one thread; a tree is read a directory at a
// time as it is copied.
#pragma once

#include "options.hpp"

#include "aio/task.hpp"

namespace acp {

// 0: all copied; 1: some operand failed. A stop (SIGINT/SIGTERM) ends it
// with what was complete kept and what was in progress removed.
aio::Task<int> run(const Options& opts);

} // namespace acp
