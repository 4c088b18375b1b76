#include "file_size.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>

namespace tools {

bool size_is_trusted(int fd, std::uint64_t st_size) {
  if (st_size == 0) return false;
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0) return true;
  return fs.f_type != PROC_SUPER_MAGIC && fs.f_type != SYSFS_MAGIC;
}

} // namespace tools
