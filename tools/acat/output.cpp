#include "output.hpp"

#include "aio/ops.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace acat {
namespace {
constexpr int kPipeSize = 1 << 20;

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}
} // namespace

namespace {

// What an unprivileged process may grow a pipe to (fs.pipe-max-size).
int pipe_max_size() {
  int max = 0;
  if (std::FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "re")) {
    if (std::fscanf(f, "%d", &max) != 1) max = 0;
    std::fclose(f);
  }
  return max;
}

} // namespace

Output::Output(int fd, bool headers, bool prefix, bool bulk)
    : fd_(fd), headers_(headers), prefix_(prefix) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return;
  // ext4 cannot take a buffered write without possibly blocking, so
  // io_uring hands each one to an io-wq worker: a worker thread and a
  // cross-CPU hand-off per chunk; a 1 GiB copy to a file ran at 0.37x cat's
  // speed that way. write(2) into the page cache is what cat does on its one
  // thread too.
  sync_ = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
  file_ = S_ISREG(st.st_mode);
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  // A 64 KiB pipe wakes its reader every 64 KiB: a copy to `| cat` ran at
  // 1.1x cat's speed with it and 2x with 1 MiB. Only for a bulk copy: the
  // pages count against the user's pipe quota (fs.pipe-user-pages-soft),
  // and 70 `acat -f f | ...` holding 1 MiB each shrank the user's new pipes
  // to 8 KiB. Only ever grown, never past pipe-max-size; a refusal is
  // harmless.
  pipe_ = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
  if (bulk && S_ISFIFO(st.st_mode)) {
    const int max = pipe_max_size();
    const int want = max > 0 ? std::min(kPipeSize, max) : kPipeSize;
    const int cur = fcntl(fd, F_GETPIPE_SZ);
    if (cur > 0 && cur < want) (void)fcntl(fd, F_SETPIPE_SZ, want);
  }
}

AIO_HOT aio::Result<void> Output::write_sync(std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return aio::errno_code(errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

aio::Result<std::size_t> Output::copy_from(int fd, std::uint64_t& pos, std::uint64_t end) {
  if (pos >= end) return std::size_t{0};
  auto off = static_cast<loff_t>(pos);
  const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(kCopyChunk, end - pos));
  ssize_t n;
  do {
    n = ::copy_file_range(fd, &off, fd_, nullptr, len, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return aio::errno_code(errno);
  if (n > 0) note_input();
  pos = static_cast<std::uint64_t>(off);
  return static_cast<std::size_t>(n);
}

AIO_HOT aio::Result<void> Output::written(aio::Result<std::size_t> r) {
  if (r) return {};
  if (r.error() == std::errc::broken_pipe) broken_ = true;
  return r.error();
}

aio::Task<aio::Result<void>> Output::write(std::span<const std::byte> data) {
  if (data.empty()) co_return aio::Result<void>{};
  if (sync_) co_return write_sync(data);
  co_return written(co_await aio::write_all(fd_, data));
}

aio::Task<aio::Result<void>> Output::write_header(Source& s) {
  // tail's format: a blank line between sections, none before the first.
  std::string h = first_header_ ? "" : "\n";
  h += "==> " + s.name + " <==\n";
  first_header_ = false;
  last_src_ = &s;
  co_return co_await write(as_bytes(h));
}

aio::Task<aio::Result<void>> Output::header(Source& s) {
  if (!headers_) co_return aio::Result<void>{};
  auto g = co_await mu_.lock();
  if (!g) co_return g.error();
  co_return co_await write_header(s);
}

void Output::append_lines(Source& s, std::span<const std::byte> data) {
  const char* p = reinterpret_cast<const char*>(data.data());
  const char* end = p + data.size();
  while (p < end) {
    const char* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (nl == nullptr) {
      s.partial.append(p, end);
      if (s.partial.size() >= kMaxLine) {
        scratch_ += s.name + ": " + s.partial + "\n";
        s.partial.clear();
      }
      return;
    }
    scratch_ += s.name;
    scratch_ += ": ";
    scratch_ += s.partial;
    s.partial.clear();
    scratch_.append(p, nl + 1);
    p = nl + 1;
  }
}

AIO_HOT aio::Task<aio::Result<void>> Output::emit(Source& s, std::span<const std::byte> data) {
  if (data.empty()) co_return aio::Result<void>{};
  note_input();
  aio::Mutex::Guard g = mu_.try_lock();
  if (!g) {
    auto r = co_await mu_.lock();
    if (!r) co_return r.error();
    g = std::move(*r);
  }
  if (prefix_) {
    scratch_.clear();
    append_lines(s, data);
    co_return co_await write(as_bytes(scratch_));
  }
  if (headers_ && last_src_ != &s) {
    if (auto r = co_await write_header(s); !r) co_return r;
  }
  last_src_ = &s;
  if (sync_) co_return write_sync(data);
  // The path of every followed line: the write is awaited in this frame,
  // not through write()'s, and a pipe takes it in one go in the common
  // case; only a short write goes on through write_all's coroutine.
  auto r = co_await aio::write(fd_, data);
  if (r && *r < data.size()) r = co_await aio::write_all(fd_, data.subspan(*r));
  co_return written(r);
}

aio::Task<aio::Result<void>> Output::end_of(Source& s) {
  if (!prefix_ || s.partial.empty()) co_return aio::Result<void>{};
  auto g = co_await mu_.lock();
  if (!g) co_return g.error();
  scratch_ = s.name + ": " + s.partial + "\n";
  s.partial.clear();
  co_return co_await write(as_bytes(scratch_));
}

} // namespace acat
