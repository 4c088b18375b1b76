// Waiting for another process to end, through the ring: a pidfd becomes
// readable when its process exits.
#pragma once

#include "aio/result.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <sys/types.h>

namespace aio {

// pidfd_open(2) by syscall (glibc 2.36 has a wrapper, older ones do not).
// ESRCH means the process is already gone.
Result<UniqueFd> pidfd_open(pid_t pid);

// Ends when the process behind `pidfd` has exited (or the task is stopped).
Task<Result<void>> wait_exit(int pidfd);

} // namespace aio
