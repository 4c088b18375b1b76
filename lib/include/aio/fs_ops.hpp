// File-system operations for copying trees (acp): directory entries, links,
// renames, attributes. The ones io_uring has are awaitable operations like
// those in ops.hpp; the ones it lacks are plain calls made on the loop
// thread, each bounded (it never waits on another process) and said so.
// Paths and buffers handed to an operation must stay valid until it
// completes. Each operation names every fd its SQE names (directories and
// files, AT_FDCWD excepted), so each is held by the runtime until the last
// CQE: a close meanwhile is deferred and the number is not reused under it.
#pragma once

#include "aio/ops.hpp"
#include "aio/result.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace aio {

// The io_uring opcodes the awaitables below need that this ring's kernel
// lacks (empty: all there). A tool checks once and says what is missing.
std::vector<std::string> fs_ops_missing();

inline auto mkdirat(int dirfd, const char* path, mode_t mode) {
  return detail::make_op(
      "mkdirat", detail::dir_fd(dirfd),
      [=](io_uring_sqe* s) { io_uring_prep_mkdirat(s, dirfd, path, mode); }, detail::as_void);
}

// `flags`: 0 or AT_REMOVEDIR.
inline auto unlinkat(int dirfd, const char* path, int flags = 0) {
  return detail::make_op(
      "unlinkat", detail::dir_fd(dirfd),
      [=](io_uring_sqe* s) { io_uring_prep_unlinkat(s, dirfd, path, flags); }, detail::as_void);
}

// `flags`: 0, RENAME_NOREPLACE, RENAME_EXCHANGE.
inline auto renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                     unsigned flags = 0) {
  return detail::make_op(
      "renameat", {detail::dir_fd(olddirfd), detail::dir_fd(newdirfd)},
      [=](io_uring_sqe* s) {
        io_uring_prep_renameat(s, olddirfd, oldpath, newdirfd, newpath, flags);
      },
      detail::as_void);
}

// `flags`: AT_EMPTY_PATH (link an O_TMPFILE fd given as olddirfd with ""),
// AT_SYMLINK_FOLLOW. With AT_EMPTY_PATH `olddirfd` is the file itself.
inline auto linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                   int flags = 0) {
  return detail::make_op(
      "linkat", {detail::dir_fd(olddirfd), detail::dir_fd(newdirfd)},
      [=](io_uring_sqe* s) {
        io_uring_prep_linkat(s, olddirfd, oldpath, newdirfd, newpath, flags);
      },
      detail::as_void);
}

inline auto symlinkat(const char* target, int newdirfd, const char* linkpath) {
  return detail::make_op(
      "symlinkat", detail::dir_fd(newdirfd),
      [=](io_uring_sqe* s) { io_uring_prep_symlinkat(s, target, newdirfd, linkpath); },
      detail::as_void);
}

inline auto fallocate(int fd, int mode, std::uint64_t offset, std::uint64_t len) {
  return detail::make_op(
      "fallocate", fd,
      [=](io_uring_sqe* s) {
        io_uring_prep_fallocate(s, fd, mode, static_cast<off_t>(offset), static_cast<off_t>(len));
      },
      detail::as_void);
}

// Gives the value's length; with an empty `value`, only asks for it.
inline auto fgetxattr(int fd, const char* name, std::span<std::byte> value) {
  return detail::make_op(
      "fgetxattr", fd,
      [=](io_uring_sqe* s) {
        io_uring_prep_fgetxattr(s, fd, name, reinterpret_cast<char*>(value.data()),
                                static_cast<unsigned>(value.size()));
      },
      detail::as_count);
}

inline auto fsetxattr(int fd, const char* name, std::span<const std::byte> value, int flags = 0) {
  return detail::make_op(
      "fsetxattr", fd,
      [=](io_uring_sqe* s) {
        io_uring_prep_fsetxattr(s, fd, name, reinterpret_cast<const char*>(value.data()), flags,
                                static_cast<unsigned>(value.size()));
      },
      detail::as_void);
}

// --- Direct calls on the loop thread: io_uring has no operation for them.

// copy_file_range of at most `len` bytes (callers pass a chunk, so the loop
// is back within a few milliseconds and a SIGINT is answered well within
// 100 ms: the kernel copies page-cache pages, it never waits for another
// process). Gives the bytes copied; 0 at the source's end.
Result<std::size_t> copy_range(int in, std::uint64_t in_off, int out, std::uint64_t out_off,
                               std::size_t len) noexcept;

// FICLONE: shares the whole of `src`'s extents with `dst` (a metadata
// operation, bounded). EOPNOTSUPP/EXDEV/EINVAL where the file system cannot.
Result<void> clone_file(int dst, int src) noexcept;

// close(2) now, on this thread, with its result: a write error that shows
// only at close (NFS and FUSE flush there) is the caller's to report. A
// file with no flush closes in a microsecond; through the ring (close())
// it costs a turn of the loop (acp's small-file tree on ext4 read 1.48x
// against 1.75x cp's speed so, in one A/B of 13 rounds). An fd an
// operation still names is closed when the last of them ends, as
// UniqueFd closes it, and gives EINPROGRESS.
Result<void> close_now(UniqueFd fd) noexcept;

// Metadata calls on an fd or a name in a directory (an empty `path` means
// the fd itself; for set_owner with AT_EMPTY_PATH): each one inode update,
// no waiting on anything but the inode's lock.
Result<void> set_mode(int fd, mode_t mode) noexcept;
Result<void> set_owner(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) noexcept;
Result<void> set_times(int dirfd, const char* path, const struct statx_timestamp& atime,
                       const struct statx_timestamp& mtime, int flags) noexcept;
// readlinkat into a string (a symlink's target is at most PATH_MAX).
Result<std::string> read_link(int dirfd, const char* path) noexcept;
// mknodat for FIFOs and device nodes: creates an inode, never opens it.
Result<void> make_node(int dirfd, const char* path, mode_t mode, dev_t dev) noexcept;
// lseek SEEK_DATA/SEEK_HOLE: the next data or hole at or after `off`
// (ENXIO past the last data). Bounded: a walk of the extent tree.
Result<std::uint64_t> seek(int fd, std::uint64_t off, int whence) noexcept;

// One batch of directory entries (getdents64): a walk of the directory's
// blocks in the page cache, bounded by the buffer. Reads a directory as it
// is copied, a batch at a time, never the whole listing at once.
class DirReader {
public:
  struct Entry {
    const char* name;
    std::uint64_t ino;
    unsigned char type; // DT_*
  };
  explicit DirReader(int dirfd, std::size_t buffer = std::size_t{32} << 10)
      : fd_(dirfd), buf_(buffer) {}
  // The next entry, "." and ".." skipped; false at the end or on an error
  // (then error() says which).
  bool next(Entry& e) noexcept;
  std::error_code error() const noexcept { return err_; }

private:
  int fd_;
  std::vector<std::byte> buf_;
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
  bool end_ = false;
  std::error_code err_;
};

// Extended attributes of an fd: names (flistxattr) and values
// (fgetxattr), read directly for metadata copies of small inodes.
Result<std::vector<std::string>> list_xattrs(int fd) noexcept;
Result<std::vector<std::byte>> get_xattr(int fd, const char* name) noexcept;

} // namespace aio
