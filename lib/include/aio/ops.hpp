// Awaitable io_uring operations. Each is an Operation living in the awaiting
// coroutine's frame, so its address (the user_data) and everything it points
// at stay valid until its last CQE. A stop request on the awaiting task's
// token cancels it in the kernel; a stopped task submits nothing.
#pragma once

#include "aio/result.hpp"
#include "aio/runtime.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <linux/time_types.h>
#include <sys/stat.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace aio {

inline constexpr std::uint64_t kCurrentPosition = static_cast<std::uint64_t>(-1);

// The awaiting half shared by all operations. Derived classes supply how to
// fill the SQE and await_resume().
class AwaitableOp : public Operation {
public:
  AwaitableOp(const char* name, int fd, PrepareFn prepare, int fd2 = -1) noexcept
      : Operation(name, fd, prepare, &AwaitableOp::resume_waiter, fd2) {}
  bool await_ready() noexcept { return false; }
  // `now`: submit at once (see Urgent).
  template <class P>
  AIO_HOT bool await_suspend(std::coroutine_handle<P> h, bool now = false) noexcept {
    return start_as(h, h.promise().stop_token(), now);
  }
  // Starts it for `h` under `token` rather than h's own (see Shielded).
  AIO_HOT bool start_as(std::coroutine_handle<> h, StopToken token, bool now = false) noexcept {
    waiter_ = h;
    return Runtime::current()->start(*this, token, now);
  }

  // For Linked: resume `h` when this and its partner have both completed.
  void join(std::coroutine_handle<> h, unsigned* left) noexcept {
    waiter_ = h;
    left_ = left;
  }

private:
  AIO_HOT static void resume_waiter(Operation& op) noexcept {
    auto& self = static_cast<AwaitableOp&>(op);
    if (self.left_ != nullptr && --*self.left_ != 0) return;
    self.waiter_.resume();
  }
  std::coroutine_handle<> waiter_;
  unsigned* left_ = nullptr;
};

// Two operations as one hard-linked pair (see Runtime::start_linked):
// `then` is issued by the kernel only when `first` has completed, in the
// same trip into the kernel. Awaiting it gives both results.
//   auto [events, data] = co_await aio::Linked{aio::read(ino, b1), aio::read(fd, b2, pos)};
template <class A, class B> struct Linked {
  A first;
  B then;
  unsigned left = 2;

  bool await_ready() noexcept { return false; }
  template <class P> AIO_HOT bool await_suspend(std::coroutine_handle<P> h) noexcept {
    first.join(h, &left);
    then.join(h, &left);
    return Runtime::current()->start_linked(first, then, h.promise().stop_token());
  }
  auto await_resume() { return std::pair(first.await_resume(), then.await_resume()); }
};
// For compilers without deduction for aggregates (clang before 17).
template <class A, class B> Linked(A, B) -> Linked<A, B>;

// An operation submitted as soon as it is started, not when the loop next
// waits: for the one a reader is blocked on, when the way back to the loop
// is long and cold (acat -f's write of new bytes). The kernel may finish it
// before the awaiting task has even suspended; it resumes from the loop.
//   co_await aio::Urgent{aio::write(out, bytes)};
template <class Op> struct Urgent {
  Op op;

  bool await_ready() noexcept { return false; }
  template <class P> AIO_HOT bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return op.await_suspend(h, true);
  }
  auto await_resume() { return op.await_resume(); }
};
template <class Op> Urgent(Op) -> Urgent<Op>;

// An operation no stop request cancels: for one that must run whatever its
// task is told, as a close (an fd is never leaked because its owner was
// stopped, and never closed twice). The drain at the end of block_on still
// cancels it if it is left in flight.
template <class Op> struct Shielded {
  Op op;

  bool await_ready() noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept { return op.start_as(h, StopToken()); }
  auto await_resume() { return op.await_resume(); }
};
template <class Op> Shielded(Op) -> Shielded<Op>;

// An operation described by two small functions: how to fill the SQE, and
// how to turn the kernel's value into the caller's result.
// Every descriptor an operation's SQE names, held by the runtime until its
// last CQE (see Operation). A directory fd of AT_FDCWD is no descriptor.
struct Fds {
  int fd = -1;
  int fd2 = -1;
  Fds(int a) noexcept : fd(a) {} // NOLINT(google-explicit-constructor): one fd is the usual case
  Fds(int a, int b) noexcept : fd(a), fd2(b) {}
};
namespace detail {
inline int dir_fd(int dirfd) noexcept { return dirfd >= 0 ? dirfd : -1; }
} // namespace detail

template <class Prep, class Map> class BasicOp final : public AwaitableOp {
public:
  BasicOp(const char* name, Fds fds, Prep prep, Map map, bool quiet = false) noexcept
      : AwaitableOp(name, fds.fd, &BasicOp::fill, fds.fd2), prep_(prep), map_(map) {
    if (quiet) set_quiet();
  }
  auto await_resume() { return map_(raw_result()); }

private:
  AIO_HOT static void fill(Operation& op, io_uring_sqe* sqe) noexcept {
    static_cast<BasicOp&>(op).prep_(sqe);
  }
  Prep prep_;
  Map map_;
};

namespace detail {
// Function objects, not functions: a function passed as Map is a pointer,
// called indirectly on every completion and never inlined.
struct AsCount {
  Result<std::size_t> operator()(int res) const noexcept { return interpret(res); }
};
struct AsVoid {
  Result<void> operator()(int res) const noexcept {
    auto r = interpret(res);
    if (!r) return r.error();
    return {};
  }
};
inline constexpr AsCount as_count{};
inline constexpr AsVoid as_void{};
// `fds`: every descriptor the SQE names, e.g. `{dirfd}` or `{fd_in, fd_out}`.
template <class Prep, class Map>
auto make_op(const char* name, Fds fds, Prep prep, Map map, bool quiet = false) {
  return BasicOp<Prep, Map>(name, fds, prep, map, quiet);
}
} // namespace detail

// The most one read or write moves (Linux's MAX_RW_COUNT): the SQE's
// length is 32 bits, and a larger span must come back as a short count,
// never be cut to its low 32 bits.
inline constexpr std::size_t kMaxIo = 0x7ffff000;
namespace detail {
inline unsigned io_len(std::size_t n) noexcept {
  return static_cast<unsigned>(n < kMaxIo ? n : kMaxIo);
}
} // namespace detail

inline auto nop() {
  return detail::make_op(
      "nop", -1, [](io_uring_sqe* s) { io_uring_prep_nop(s); }, detail::as_count);
}

inline auto read(int fd, std::span<std::byte> buf, std::uint64_t offset = kCurrentPosition) {
  return detail::make_op(
      "read", fd,
      [=](io_uring_sqe* s) {
        io_uring_prep_read(s, fd, buf.data(), detail::io_len(buf.size()), offset);
      },
      detail::as_count);
}

// A read whose success posts no CQE and gives 0, for the head of a linked
// pair (see Operation::set_quiet). The kernel counts a short read as failed
// in a link, and posts its CQE with the count: success means `buf` is full.
inline auto quiet_read(int fd, std::span<std::byte> buf) {
  return detail::make_op(
      "quiet-read", fd,
      [=](io_uring_sqe* s) {
        io_uring_prep_read(s, fd, buf.data(), detail::io_len(buf.size()), kCurrentPosition);
      },
      detail::as_count, true);
}

inline auto write(int fd, std::span<const std::byte> buf, std::uint64_t offset = kCurrentPosition) {
  return detail::make_op(
      "write", fd,
      [=](io_uring_sqe* s) {
        io_uring_prep_write(s, fd, buf.data(), detail::io_len(buf.size()), offset);
      },
      detail::as_count);
}

inline auto fsync(int fd, bool datasync = false) {
  return detail::make_op(
      "fsync", fd,
      [=](io_uring_sqe* s) { io_uring_prep_fsync(s, fd, datasync ? IORING_FSYNC_DATASYNC : 0); },
      detail::as_void);
}

// Waits until `fd` has one of `events` (POLLIN, ...); gives the revents.
inline auto poll(int fd, unsigned events) {
  return detail::make_op(
      "poll", fd, [=](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, events); },
      [](int res) -> Result<unsigned> {
        auto r = interpret(res);
        if (!r) return r.error();
        return static_cast<unsigned>(*r);
      });
}

inline auto splice(int fd_in, std::int64_t off_in, int fd_out, std::int64_t off_out, unsigned len,
                   unsigned flags = 0) {
  return detail::make_op(
      "splice", {fd_in, fd_out},
      [=](io_uring_sqe* s) { io_uring_prep_splice(s, fd_in, off_in, fd_out, off_out, len, flags); },
      detail::as_count);
}

namespace detail {
// An open that completes after a too-late cancel still yields an fd: it is
// handed over (and closed by its owner), never leaked.
inline Result<UniqueFd> as_fd(int res) {
  auto r = interpret(res);
  if (!r) return r.error();
  return UniqueFd(static_cast<int>(*r));
}
} // namespace detail

// `path` must stay valid until the operation completes.
inline auto openat(int dirfd, const char* path, int flags, mode_t mode = 0) {
  return detail::make_op(
      "openat", detail::dir_fd(dirfd),
      [=](io_uring_sqe* s) { io_uring_prep_openat(s, dirfd, path, flags, mode); }, detail::as_fd);
}

// openat handed to an io-wq worker at once (IOSQE_ASYNC) instead of run by
// the submitting thread: for a thread with more to do than the workers (acp
// on a tree of small files), an open it need not do itself. The readiness
// backend runs it as openat.
inline auto openat_offloaded(int dirfd, const char* path, int flags, mode_t mode = 0) {
  return detail::make_op(
      "openat", detail::dir_fd(dirfd),
      [=](io_uring_sqe* s) {
        io_uring_prep_openat(s, dirfd, path, flags, mode);
        s->flags |= IOSQE_ASYNC;
      },
      detail::as_fd);
}

// Cancels every operation in flight on `fd`; gives how many were found.
inline auto cancel_fd(int fd) {
  return detail::make_op(
      "cancel-fd", -1,
      [=](io_uring_sqe* s) { io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL); },
      [](int res) -> Result<std::size_t> {
        if (res == -ENOENT) return std::size_t{0};
        return interpret(res);
      });
}

// statx through the ring; the result buffer lives in the operation.
class StatxOp final : public AwaitableOp {
public:
  StatxOp(int dirfd, const char* path, int flags, unsigned mask) noexcept
      : AwaitableOp("statx", detail::dir_fd(dirfd), &StatxOp::fill), dirfd_(dirfd), path_(path),
        flags_(flags), mask_(mask) {}
  Result<struct statx> await_resume() {
    auto r = interpret(raw_result());
    if (!r) return r.error();
    return buf_;
  }

private:
  static void fill(Operation& op, io_uring_sqe* sqe) noexcept {
    auto& self = static_cast<StatxOp&>(op);
    io_uring_prep_statx(sqe, self.dirfd_, self.path_, self.flags_, self.mask_, &self.buf_);
  }
  int dirfd_;
  const char* path_;
  int flags_;
  unsigned mask_;
  struct statx buf_ {};
};

inline StatxOp statx(int dirfd, const char* path, int flags = 0,
                     unsigned mask = STATX_BASIC_STATS) {
  return {dirfd, path, flags, mask};
}

// A relative io_uring timeout. Firing is success; a stop makes it ECANCELED.
class SleepOp final : public AwaitableOp {
public:
  explicit SleepOp(std::chrono::nanoseconds d) noexcept
      : AwaitableOp("timeout", -1, &SleepOp::fill) {
    ts_.tv_sec = d.count() / 1'000'000'000;
    ts_.tv_nsec = d.count() % 1'000'000'000;
  }
  Result<void> await_resume() {
    if (raw_result() == -ETIME) return {};
    return detail::as_void(raw_result());
  }

private:
  static void fill(Operation& op, io_uring_sqe* sqe) noexcept {
    io_uring_prep_timeout(sqe, &static_cast<SleepOp&>(op).ts_, 0, 0);
  }
  __kernel_timespec ts_{};
};

inline SleepOp sleep_for(std::chrono::nanoseconds d) { return SleepOp(d); }

// Closes through the ring. If operations are still in flight on the fd, the
// close waits for them instead (see UniqueFd).
Task<Result<void>> close(UniqueFd fd);

// Writes all of `buf`, resubmitting after short writes. Gives the bytes
// written, or the first error; `written`, if given, receives the bytes
// written either way (those before an error are on the file).
Task<Result<std::size_t>> write_all(int fd, std::span<const std::byte> buf,
                                    std::uint64_t offset = kCurrentPosition,
                                    std::size_t* written = nullptr);

} // namespace aio
