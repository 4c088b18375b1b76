#include "aio/fs_ops.hpp"

#include "aio/runtime.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstring>

namespace aio {

namespace {
Result<void> void_or_errno(int rc) noexcept {
  if (rc == 0) return {};
  return errno_code(errno);
}
timespec to_timespec(const struct statx_timestamp& t) noexcept {
  return timespec{static_cast<time_t>(t.tv_sec), static_cast<long>(t.tv_nsec)};
}
} // namespace

std::vector<std::string> fs_ops_missing() {
  Runtime* rt = Runtime::current();
  if (rt == nullptr) return {"runtime"};
  // The readiness backend runs each of them as its plain syscall.
  if (rt->epoll() != nullptr) return {};
  return rt->ring().missing({IORING_OP_MKDIRAT, IORING_OP_UNLINKAT, IORING_OP_RENAMEAT,
                             IORING_OP_LINKAT, IORING_OP_SYMLINKAT, IORING_OP_FALLOCATE,
                             IORING_OP_FGETXATTR, IORING_OP_FSETXATTR, IORING_OP_OPENAT,
                             IORING_OP_STATX});
}

Result<std::size_t> copy_range(int in, std::uint64_t in_off, int out, std::uint64_t out_off,
                               std::size_t len) noexcept {
  auto ioff = static_cast<loff_t>(in_off);
  auto ooff = static_cast<loff_t>(out_off);
  ssize_t n = ::copy_file_range(in, &ioff, out, &ooff, len, 0);
  if (n < 0) return errno_code(errno);
  return static_cast<std::size_t>(n);
}

Result<void> clone_file(int dst, int src) noexcept {
  return void_or_errno(::ioctl(dst, FICLONE, src));
}

Result<void> close_now(UniqueFd fd) noexcept {
  if (!fd) return Result<void>::failure(EBADF);
  const int raw = fd.release();
  if (Runtime* rt = Runtime::current(); rt != nullptr && rt->defer_close(raw))
    return Result<void>::failure(EINPROGRESS);
  return interpret_close(::close(raw) == 0 ? 0 : -errno);
}

Result<void> set_mode(int fd, mode_t mode) noexcept { return void_or_errno(::fchmod(fd, mode)); }

Result<void> set_owner(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) noexcept {
  return void_or_errno(::fchownat(dirfd, path, uid, gid, flags));
}

Result<void> set_times(int dirfd, const char* path, const struct statx_timestamp& atime,
                       const struct statx_timestamp& mtime, int flags) noexcept {
  timespec ts[2] = {to_timespec(atime), to_timespec(mtime)};
  if (path[0] == '\0') return void_or_errno(::futimens(dirfd, ts));
  return void_or_errno(::utimensat(dirfd, path, ts, flags));
}

Result<std::string> read_link(int dirfd, const char* path) noexcept {
  std::string s(PATH_MAX, '\0');
  ssize_t n = ::readlinkat(dirfd, path, s.data(), s.size());
  if (n < 0) return errno_code(errno);
  s.resize(static_cast<std::size_t>(n));
  return s;
}

Result<void> make_node(int dirfd, const char* path, mode_t mode, dev_t dev) noexcept {
  return void_or_errno(::mknodat(dirfd, path, mode, dev));
}

Result<std::uint64_t> seek(int fd, std::uint64_t off, int whence) noexcept {
  off_t r = ::lseek(fd, static_cast<off_t>(off), whence);
  if (r < 0) return errno_code(errno);
  return static_cast<std::uint64_t>(r);
}

bool DirReader::next(Entry& e) noexcept {
  for (;;) {
    if (pos_ >= len_) {
      if (end_) return false;
      long n = ::syscall(SYS_getdents64, fd_, buf_.data(), buf_.size());
      if (n < 0) {
        err_ = errno_code(errno);
        end_ = true;
        return false;
      }
      if (n == 0) {
        end_ = true;
        return false;
      }
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[]
    const std::byte* p = buf_.data() + pos_;
    std::uint64_t ino;
    std::uint16_t reclen;
    std::memcpy(&ino, p, 8);
    std::memcpy(&reclen, p + 16, 2);
    auto type = static_cast<unsigned char>(p[18]);
    const char* name = reinterpret_cast<const char*>(p + 19);
    pos_ += reclen;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    e = Entry{name, ino, type};
    return true;
  }
}

Result<std::vector<std::string>> list_xattrs(int fd) noexcept {
  std::vector<char> buf(4096);
  for (;;) {
    ssize_t n = ::flistxattr(fd, buf.data(), buf.size());
    if (n >= 0) {
      std::vector<std::string> names;
      for (std::size_t i = 0; i < static_cast<std::size_t>(n);) {
        std::string name(buf.data() + i);
        i += name.size() + 1;
        names.push_back(std::move(name));
      }
      return names;
    }
    if (errno != ERANGE || buf.size() > (1u << 20)) return errno_code(errno);
    buf.resize(buf.size() * 4);
  }
}

Result<std::vector<std::byte>> get_xattr(int fd, const char* name) noexcept {
  std::vector<std::byte> buf(256);
  for (;;) {
    ssize_t n = ::fgetxattr(fd, name, buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    if (errno != ERANGE || buf.size() > (1u << 20)) return errno_code(errno);
    buf.resize(buf.size() * 16);
  }
}

} // namespace aio
