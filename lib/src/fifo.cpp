#include "aio/fifo.hpp"

#include <algorithm>

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
  r.s_->writer_seen = true;
  return r;
}

AIO_HOT Task<Result<std::size_t>> FifoReader::read_on(State& s, std::span<std::byte> buf) {
  for (;;) {
    if (!s.writer_seen) {
      // Until a writer has come, a read would say EOF; POLLIN fires on data
      // or on a writer that came and left.
      auto p = co_await poll(s.fd.get(), POLLIN);
      if (!p) co_return p.error();
      s.writer_seen = true;
    }
    auto r = co_await read_ready(s.fd.get(), buf);
    if (!r || *r > 0 || !s.follow) co_return r;
    ++s.disconnects;
    if (s.path.empty()) co_return r; // an anonymous pipe has no next writer
    // Open the new fd before closing the old one, so the pipe and any bytes a
    // next writer already put in it survive the switch.
    auto fresh = co_await openat(AT_FDCWD, s.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (!fresh) co_return fresh.error();
    s.fd = std::move(*fresh);
    s.writer_seen = false;
  }
}

Task<Result<UniqueFd>> open_fifo_write(std::string path, std::chrono::nanoseconds retry) {
  // Nothing tells a writer that a reader has come (a blocking reader's
  // open waits for a writer before inotify hears of it), so this polls;
  // backing off keeps a long wait down to a few wake-ups a second.
  constexpr std::chrono::nanoseconds kLongest = std::chrono::milliseconds(250);
  for (;;) {
    auto fd = co_await openat(AT_FDCWD, path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd || fd.error() != std::errc::no_such_device_or_address) co_return fd;
    auto s = co_await sleep_for(retry);
    if (!s) co_return s.error();
    retry = std::min(retry * 2, std::max(retry, kLongest));
  }
}

} // namespace aio
