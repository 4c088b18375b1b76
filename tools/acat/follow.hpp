// After the first pass: keep printing what is appended to regular files
// (inotify read through the ring) and what writers put in FIFOs, until every
// input is gone, --pid's process ends or --idle-timeout passes.
#pragma once

#include "input.hpp"

#include "aio/result.hpp"
#include "aio/task.hpp"

#include <memory>
#include <vector>

namespace acat {

// Follows the inputs that can be followed. Returns a write error, if any;
// input trouble is reported through `ctx` and does not end the others.
aio::Task<aio::Result<void>> follow(Context& ctx, std::vector<std::unique_ptr<Input>>& inputs);

} // namespace acat
