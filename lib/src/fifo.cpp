#include "aio/fifo.hpp"

#include <fcntl.h>
#include <poll.h>

namespace aio {

AIO_HOT Task<Result<std::size_t>> read_ready(int fd, std::span<std::byte> buf) {
  for (;;) {
    auto r = co_await read(fd, buf);
    if (r || r.error() != std::errc::resource_unavailable_try_again) co_return r;
    auto p = co_await poll(fd, POLLIN);
    if (!p) co_return p.error();
  }
}

Task<Result<FifoReader>> FifoReader::open(std::string path, bool follow) {
  auto fd = co_await openat(AT_FDCWD, path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (!fd) co_return fd.error();
  co_return FifoReader(std::move(*fd), std::move(path), follow);
}

Result<FifoReader> FifoReader::adopt(UniqueFd fd, std::string path, bool follow) {
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) return errno_code(errno);
  FifoReader r(std::move(fd), std::move(path), follow);
  // An inherited pipe (stdin) already has its writer: no false EOF to fear.
  r.writer_seen_ = true;
  return r;
}

AIO_HOT Task<Result<std::size_t>> FifoReader::read(std::span<std::byte> buf) {
  for (;;) {
    if (!writer_seen_) {
      // Until a writer has come, a read would say EOF; POLLIN fires on data
      // or on a writer that came and left.
      auto p = co_await poll(fd_.get(), POLLIN);
      if (!p) co_return p.error();
      writer_seen_ = true;
    }
    auto r = co_await read_ready(fd_.get(), buf);
    if (!r || *r > 0 || !follow_) co_return r;
    ++disconnects_;
    if (path_.empty()) co_return r; // an anonymous pipe has no next writer
    // Open the new fd before closing the old one, so the pipe and any bytes a
    // next writer already put in it survive the switch.
    auto fresh = co_await openat(AT_FDCWD, path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (!fresh) co_return fresh.error();
    fd_ = std::move(*fresh);
    writer_seen_ = false;
  }
}

Task<Result<UniqueFd>> open_fifo_write(std::string path, std::chrono::nanoseconds retry) {
  for (;;) {
    auto fd = co_await openat(AT_FDCWD, path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd || fd.error() != std::errc::no_such_device_or_address) co_return fd;
    auto s = co_await sleep_for(retry);
    if (!s) co_return s.error();
  }
}

} // namespace aio
