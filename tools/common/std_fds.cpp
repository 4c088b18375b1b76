#include "std_fds.hpp"

#include <fmt/core.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tools {

unsigned reserve_std_fds() {
  unsigned closed = 0;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    closed |= 1u << fd;
    int got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (got >= 0 && got != fd) close(got);
  }
  return closed;
}

int print_or_fail(std::string_view tool, const std::string& text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    fmt::print(stderr, "{}: write error: {}\n", tool, std::strerror(errno != 0 ? errno : EIO));
    return 1;
  }
  return 0;
}

bool close_stdout(std::string_view tool) {
  errno = 0;
  bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
  if (failed)
    fmt::print(stderr, "{}: write error: {}\n", tool, std::strerror(errno != 0 ? errno : EIO));
  return !failed;
}

} // namespace tools
