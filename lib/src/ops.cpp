#include "aio/ops.hpp"

#include <unistd.h>

namespace aio {

namespace {
// Suspends until the runtime has closed a deferred fd (Runtime::CloseWaiter).
struct WaitClosed {
  Runtime::CloseWaiter& w;
  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { w.h = h; }
  void await_resume() noexcept {}
};
struct RawResult {
  int operator()(int res) const noexcept { return res; }
};
} // namespace

Task<Result<void>> close(UniqueFd fd) {
  if (!fd) co_return Result<void>::failure(EBADF);
  Runtime::CloseWaiter waiter;
  if (Runtime::current()->defer_close(fd.get(), &waiter)) {
    // Operations still use it: it is closed when the last of them ends,
    // and only then does this close return, with close's own result.
    (void)fd.release();
    co_await WaitClosed{waiter};
    co_return interpret_close(waiter.res);
  }
  const int raw = fd.release();
  const int res = co_await Shielded{detail::make_op(
      "close", -1, [=](io_uring_sqe* s) { io_uring_prep_close(s, raw); }, RawResult{})};
  // Cancelled before it ran (only the end-of-run sweep can): still open.
  if (res == -ECANCELED) {
    const int now = ::close(raw) == 0 || errno == EINTR ? 0 : -errno;
    co_return interpret_close(now);
  }
  co_return interpret_close(res);
}

AIO_HOT Task<Result<std::size_t>> write_all(int fd, std::span<const std::byte> buf,
                                            std::uint64_t offset, std::size_t* written) {
  std::size_t done = 0;
  std::size_t ignored = 0;
  std::size_t& out = written != nullptr ? *written : ignored;
  out = 0;
  while (done < buf.size()) {
    std::uint64_t off = offset == kCurrentPosition ? offset : offset + done;
    auto r = co_await write(fd, buf.subspan(done), off);
    if (!r) co_return r.error();
    if (*r == 0) co_return Result<std::size_t>::failure(EIO); // no progress: never spin
    done += *r;
    out = done;
  }
  co_return done;
}

} // namespace aio
