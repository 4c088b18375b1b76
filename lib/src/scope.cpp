#include "aio/scope.hpp"

#include "aio/runtime.hpp"

#include <cstdio>
#include <exception>

namespace aio {

void Scope::wait_out() noexcept {
  Runtime* rt = Runtime::current();
  if (rt == nullptr) {
    // No loop to run the children out on: their frames would be freed
    // under the kernel. Refuse loudly rather than corrupt.
    std::fputs("aio: Scope destroyed with children running and no runtime\n", stderr);
    std::terminate();
  }
  source_.request_stop();
  joiner_ = nullptr; // nobody resumes from child_done: this loop sees active_
  while (active_ != 0)
    rt->run_once();
}

} // namespace aio
