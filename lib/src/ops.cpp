#include "aio/ops.hpp"

#include <unistd.h>

namespace aio {

Task<Result<void>> close(UniqueFd fd) {
  if (!fd) co_return Result<void>::failure(EBADF);
  int raw = fd.get();
  if (Runtime::current()->defer_close(raw)) {
    (void)fd.release(); // the runtime owns it now and closes it when idle
    co_return Result<void>{};
  }
  raw = fd.release();
  auto r = co_await detail::make_op(
      "close", -1, [=](io_uring_sqe* s) { io_uring_prep_close(s, raw); }, detail::as_void);
  // A close cancelled before it ran (the task was stopped) must still happen:
  // an fd is never leaked because its owner was cancelled.
  if (r.cancelled()) {
    ::close(raw);
    co_return Result<void>{};
  }
  co_return r;
}

AIO_HOT Task<Result<std::size_t>> write_all(int fd, std::span<const std::byte> buf,
                                            std::uint64_t offset) {
  std::size_t done = 0;
  while (done < buf.size()) {
    std::uint64_t off = offset == kCurrentPosition ? offset : offset + done;
    auto r = co_await write(fd, buf.subspan(done), off);
    if (!r) co_return r.error();
    if (*r == 0) co_return Result<std::size_t>::failure(EIO); // no progress: never spin
    done += *r;
  }
  co_return done;
}

} // namespace aio
