// The readiness backend: where io_uring cannot be set up (a container's
// seccomp profile, kernel.io_uring_disabled), the runtime hands the same
// SQEs to this one instead, and reaps its completions as it reaps CQEs.
//
// An operation already describes itself completely as the SQE it prepares
// (liburing's io_uring_prep_* only write fields, so they fill any
// io_uring_sqe in memory). This backend executes that description on the
// loop thread: what cannot wait (regular files, opens, statx, close,
// fsync) is the plain syscall at once, as cat does; reads, writes, splices
// and polls of pollable fds (pipes, FIFOs, sockets, ttys, inotify,
// signalfd, pidfd, eventfd, timerfd) try the syscall and wait in epoll
// when it would block; a timeout is a deadline; a cancel drops the wait.
// No helper threads. Completions carry the user_data and the value the
// kernel would have posted, in submission order of their ends.
#pragma once

#include "aio/result.hpp"

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aio {

// Which backend a Runtime runs on.
enum class BackendKind : std::uint8_t { Uring, Epoll };
const char* backend_kind_name(BackendKind k) noexcept;

struct Completion {
  std::uint64_t user_data;
  int res;
};

class EpollBackend {
public:
  // `entries`: SQ slots, as the ring's. The completion queue grows as
  // needed: like a ring with IORING_FEAT_NODROP, it never drops one.
  static Result<std::unique_ptr<EpollBackend>> create(unsigned entries);
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;
  ~EpollBackend();

  // A zeroed SQE to fill, or null when the SQ is full (submit, then retry).
  io_uring_sqe* get_sqe() noexcept;
  unsigned sq_space_left() const noexcept { return sq_entries_ - sq_count_; }
  unsigned sq_ready() const noexcept { return sq_count_; }
  unsigned cq_entries() const noexcept { return 2 * sq_entries_; }
  // Runs the SQEs got since the last submit, in order; never blocks.
  void submit() noexcept;
  // Submits, then waits until at least one completion is queued.
  void submit_and_wait() noexcept;
  bool cq_ready() const noexcept { return cq_head_ < cq_.size(); }
  // Moves up to `max` completions out, oldest first; returns how many.
  unsigned reap(Completion* out, unsigned max) noexcept;

  // For tests: fds with interest armed in epoll now, and requests waiting on them
  // or on a deadline.
  std::size_t registered_fds() const noexcept;
  std::size_t waiting() const noexcept;

  struct Request;
  struct FdWait;

private:
  EpollBackend(int epfd, unsigned entries);
  void issue(Request* r) noexcept;
  bool attempt(Request* r, bool readable = false) noexcept;
  enum class Nowait : std::uint8_t { Done, Again, Unsupported };
  Nowait write_nowait(Request* r) noexcept;
  void no_nowait(int fd) noexcept;
  void wait_fd(Request* r, int fd, std::uint32_t events) noexcept;
  void unwait_fd(Request* r) noexcept;
  void update_interest(FdWait& w) noexcept;
  void forget_fd(int fd) noexcept;
  void complete(Request* r, int res) noexcept;
  void cancel(const io_uring_sqe& sqe) noexcept;
  void cancel_one(Request* r) noexcept;
  void expire_timers() noexcept;
  void poll_once(bool block) noexcept;
  Request* alloc(const io_uring_sqe& sqe) noexcept;
  void release(Request* r) noexcept;
  void post(std::uint64_t user_data, int res) noexcept { cq_.push_back({user_data, res}); }

  int epfd_;
  unsigned sq_entries_;
  unsigned sq_count_ = 0;
  std::unique_ptr<io_uring_sqe[]> sq_;
  std::vector<Completion> cq_;
  std::size_t cq_head_ = 0;
  int cancel_result_ = 0; // of the ASYNC_CANCEL being issued
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace aio
