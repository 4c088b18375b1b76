#include "aio/pidfd.hpp"

#include "aio/ops.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace aio {

Result<UniqueFd> pidfd_open(pid_t pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return errno_code(errno);
  return UniqueFd(static_cast<int>(fd));
}

Task<Result<void>> wait_exit(int pidfd) {
  auto r = co_await poll(pidfd, POLLIN);
  if (!r) co_return r.error();
  co_return Result<void>{};
}

} // namespace aio
