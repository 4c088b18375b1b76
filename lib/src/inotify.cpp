#include "aio/inotify.hpp"

#include "aio/ops.hpp"

#include <poll.h>
#include <sys/inotify.h>

#include <cstring>

namespace aio {

Result<Inotify> Inotify::create() {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return errno_code(errno);
  return Inotify(UniqueFd(fd));
}

Result<int> Inotify::add_watch(const std::string& path, std::uint32_t mask) {
  int wd = inotify_add_watch(s_->fd.get(), path.c_str(), mask);
  if (wd < 0) return errno_code(errno);
  return wd;
}

Result<void> Inotify::remove_watch(int wd) {
  if (inotify_rm_watch(s_->fd.get(), wd) != 0) return errno_code(errno);
  return {};
}

AIO_HOT void Inotify::parse(std::span<const std::byte> raw, std::vector<InotifyEvent>& out) {
  out.clear();
  std::size_t off = 0;
  while (off + sizeof(inotify_event) <= raw.size()) {
    inotify_event ev;
    std::memcpy(&ev, raw.data() + off, sizeof ev);
    const char* name = reinterpret_cast<const char*>(raw.data() + off + sizeof ev);
    std::size_t name_len = ev.len == 0 ? 0 : strnlen(name, ev.len);
    out.push_back({ev.wd, ev.mask, ev.cookie, std::string_view(name, name_len)});
    off += sizeof ev + ev.len;
  }
}

AIO_HOT std::span<const InotifyEvent> Inotify::State::take(std::size_t n) {
  parse(std::span<const std::byte>(buf.get(), n), events);
  return events;
}

// A quiet read succeeds only when it was not short: one whole event.
AIO_HOT std::span<const InotifyEvent> Inotify::take_quiet() { return take(kEventSize); }

AIO_HOT Task<Result<std::span<const InotifyEvent>>> Inotify::next_on(State& s) {
  // An IN_NONBLOCK inotify fd is pollable, so the kernel arms a poll for a
  // read of it by itself (measured on 6.18: no io-wq worker). One read op per
  // event batch instead of poll then read saves an io_uring_enter on the
  // tail -f latency path, and reading here rather than through read_ready
  // saves a coroutine frame on it; the poll is kept for kernels that answer
  // EAGAIN instead.
  for (;;) {
    auto r = co_await read(s.fd.get(), std::span(s.buf.get(), kBufSize));
    if (!r && r.error() == std::errc::resource_unavailable_try_again) {
      if (auto p = co_await poll(s.fd.get(), POLLIN); !p) co_return p.error();
      continue;
    }
    if (!r) co_return r.error();
    co_return s.take(*r);
  }
}

} // namespace aio
