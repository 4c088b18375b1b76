// Runtime: one ring, one thread. Operations are objects with a stable
// address (user_data points at them); each completes exactly once, after its
// own CQE and the CQE of any cancel aimed at it.
#pragma once

#include "aio/backend.hpp"
#include "aio/hot.hpp"
#include "aio/result.hpp"
#include "aio/ring.hpp"
#include "aio/stop.hpp"
#include "aio/task.hpp"

#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aio {

class Runtime;

struct RuntimeOptions {
  RingOptions ring;
  // Forces a backend over AIO_BACKEND (for a caller whose figures are the
  // backend's own, as aiobench's uring rows); unset lets create choose.
  std::optional<BackendKind> backend;
  // Log submissions, completions and cancellations to stderr. Defaults to
  // on when the environment has AIO_TRACE set (to anything but "0").
  bool trace = false;
};

RuntimeOptions default_runtime_options();

// The backend Runtime::create would choose now, without printing: io_uring
// when it can be set up with every opcode the runtime needs, else epoll;
// AIO_BACKEND=uring|epoll forces one. Sets up a ring and closes it again.
// `why`, if given, receives why io_uring is not used (empty when it is).
// Fails only for a bad AIO_BACKEND, or uring forced where it is denied.
Result<BackendKind> choose_backend(const RuntimeOptions& opts = default_runtime_options(),
                                   std::string* why = nullptr);

// Base of everything submitted to the ring. Subclasses say how to fill the
// SQE and what to do once everything is over; the runtime does the rest.
class Operation {
public:
  // How to fill the SQE; what to do once no CQE for the operation is
  // outstanding (called exactly once). Pointers kept in the object rather
  // than virtual functions: after a wake-up, each operation type's vtable
  // was one more cold cache line (~0.3 us on a VM) between the CQE and the
  // next submit.
  using PrepareFn = void (*)(Operation&, io_uring_sqe*) noexcept;
  using CompleteFn = void (*)(Operation&) noexcept;

  // `fd` and `fd2` are every descriptor the SQE names (-1: none, and
  // AT_FDCWD is not one): the runtime holds both until the last CQE, so a
  // close by their owner meanwhile is deferred and the numbers cannot be
  // reused under the operation (an openat's directory, both ends of a splice).
  Operation(const char* name, int fd, PrepareFn prepare, CompleteFn complete, int fd2 = -1) noexcept
      : prepare_(prepare), complete_(complete), fd_(fd), fd2_(fd2), name_(name) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  const char* name() const noexcept { return name_; }
  int fd() const noexcept { return fd_; }
  int fd2() const noexcept { return fd2_; }
  // The kernel's value; turn it into a result with interpret().
  int raw_result() const noexcept { return res_; }
  bool cancel_requested() const noexcept { return cancel_requested_; }

protected:
  ~Operation() = default; // never deleted through the base
  // Posts no CQE when it succeeds (IOSQE_CQE_SKIP_SUCCESS); a failure still
  // posts one. Only for the head of a linked pair: the tail's CQE then says
  // the head is over, and its result is 0. Elsewhere it is ignored: the
  // operation would never end. A tail that waits is cancelled by a stop even
  // though nothing says when the kernel issued it (Runtime::cancel).
  void set_quiet() noexcept { quiet_ = true; }

private:
  friend class Runtime;
  enum class State : std::uint8_t { Idle, Queued, InFlight, Done };
  static void on_stop(void* self) noexcept;

  // What a completion reads comes first.
  PrepareFn prepare_;
  CompleteFn complete_;
  Operation* link_next_ = nullptr; // the head of a linked pair: its tail
  Operation* link_prev_ = nullptr; // the tail of a linked pair: its head
  int fd_;
  int fd2_;
  int res_ = 0;
  State state_ = State::Idle;
  std::uint8_t pending_cqes_ = 0;
  bool cancel_requested_ = false;
  bool quiet_ = false;
  // The tail of a linked pair whose head has not completed yet: the kernel
  // has not issued it, so no ASYNC_CANCEL could find it.
  bool behind_head_ = false;
  Runtime* rt_ = nullptr;
  StopCallback stop_cb_;
  Operation* qprev_ = nullptr;
  Operation* qnext_ = nullptr;
  const char* name_;
};

struct RuntimeStats {
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;
  std::uint64_t cancels_sent = 0;
  std::uint64_t cancelled_unsubmitted = 0;
  std::uint64_t queued = 0; // times an operation waited for an SQE
  std::uint64_t waits = 0;  // times the loop blocked in the kernel for completions
};

class Runtime {
public:
  // `why` receives a sentence for the user when no backend can be had (or
  // io_uring is forced, AIO_BACKEND=uring, and unusable). Where io_uring
  // is denied the readiness backend is chosen silently (see choose_backend),
  // and `why` then says why io_uring is not used.
  static Result<std::unique_ptr<Runtime>>
  create(const RuntimeOptions& opts = default_runtime_options(), std::string* why = nullptr);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  // Cancels and drains whatever is still in flight before the ring goes.
  ~Runtime();

  // The runtime of the calling thread (null if none).
  static Runtime* current() noexcept;

  // Runs `task` to completion on this thread, then drains stray work.
  template <class T> AIO_HOT T block_on(Task<T> task) {
    root_ = std::make_unique<StopSource>();
    auto h = task.handle();
    h.promise().token = root_->token();
    h.promise().started = true;
    h.resume();
    while (!h.done())
      run_once();
    drain();
    return h.promise().take();
  }

  // Stops everything running under block_on.
  void request_stop() noexcept { root_->request_stop(); }
  StopToken root_token() noexcept { return root_->token(); }

  // Starts `op` unless `token` is already stopped. Returns false when it
  // finished synchronously (cancelled before submission): its CompleteFn is
  // then not called and raw_result() is -ECANCELED.
  // With `now`, hands it to the kernel at once rather than at the loop's
  // next wait (see aio::Urgent). A token that cannot stop (StopToken())
  // registers nothing: for an owner that starts operation after operation
  // from their completions, registers once itself and cancels the one in
  // flight with cancel() (acat's FollowChain).
  bool start(Operation& op, StopToken token, bool now = false) noexcept;
  // Starts `first` and `then` as a hard-linked pair: the kernel issues
  // `then` only once `first` has completed, whatever its result, and both
  // end as usual, each with its own result. Saves a trip through user space
  // when the second operation must see what the first waited for (a read
  // of a file behind the inotify read that says it grew). A stop cancels
  // both; `then` is cancelled once `first` is over (it cannot be found in
  // the kernel before). Returns false as start() does, for both. Both must
  // live until both have completed.
  bool start_linked(Operation& first, Operation& then, StopToken token) noexcept;
  // Asks the kernel to cancel `op` (or drops it if not yet submitted).
  void cancel(Operation& op) noexcept;

  // Resumes `h` from the loop, not from the caller's stack (for wake-ups
  // that happen inside stop requests or destructors).
  void post(std::coroutine_handle<> h) { posted_.push_back(h); }

  // One turn of the loop: submit, wait for at least one event, dispatch.
  void run_once();
  // Turns until nothing is in flight, queued or ready.
  void drain();

  // A task in aio::close() waiting for the last operation on its fd: the
  // runtime closes the fd then, stores close's result in `res` (0 or
  // -errno) and resumes `h`.
  struct CloseWaiter {
    int fd = -1;
    int res = 0;
    std::coroutine_handle<> h;
    CloseWaiter* next = nullptr;
  };
  // Called by UniqueFd and close(): true if `fd` has operations in flight,
  // in which case the runtime closes it when the last of them completes
  // (and then wakes `waiter`, if given).
  bool defer_close(int fd, CloseWaiter* waiter = nullptr) noexcept;
  unsigned inflight() const noexcept { return inflight_; }
  const RuntimeStats& stats() const noexcept { return stats_; }
  // The io_uring instance; not set up on the readiness backend.
  Ring& ring() noexcept { return ring_; }
  BackendKind backend() const noexcept { return epoll_ ? BackendKind::Epoll : BackendKind::Uring; }
  const char* backend_name() const noexcept { return backend_kind_name(backend()); }
  // The readiness backend, or null on io_uring.
  EpollBackend* epoll() noexcept { return epoll_.get(); }
  bool tracing() const noexcept { return trace_; }
  // Inline so that, with tracing off, the hot path never jumps to the
  // cold page the formatting code lives on.
  void trace(const char* event, const Operation* op, int res) const noexcept {
    if (trace_) print_trace(event, op, res);
  }

private:
  explicit Runtime(bool trace) : trace_(trace) {}
  [[gnu::cold]] void print_trace(const char* event, const Operation* op, int res) const noexcept;
  io_uring_sqe* get_sqe() noexcept;
  void submit_now() noexcept;
  [[gnu::cold]] io_uring_sqe* epoll_get_sqe() noexcept;
  [[gnu::cold]] void wait_epoll() noexcept;
  bool begin(Operation& op, StopToken token) noexcept;
  void enqueue(Operation& op) noexcept;
  bool sq_room(unsigned n) noexcept;
  bool issue(Operation& op) noexcept;
  void prepare(Operation& op) noexcept;
  void submit_cancel(Operation& op) noexcept;
  void flush_queues() noexcept;
  bool run_ready() noexcept;
  void reap() noexcept;
  void enter_failed(int ret) noexcept;
  void cancel_everything() noexcept;
  void dispatch(std::uint64_t user_data, int res) noexcept;
  void finish(Operation& op) noexcept;
  void head_done(Operation& head) noexcept;
  void quiet_head_done(Operation& head) noexcept;
  void unlink_pair(Operation& head) noexcept;
  void retain_fd(int fd);
  void release_fd(int fd) noexcept;

  Ring ring_;
  std::unique_ptr<EpollBackend> epoll_; // set: the readiness backend runs the SQEs
  bool trace_;
  unsigned inflight_ = 0;      // CQEs due: operations' and cancels'
  Operation* qhead_ = nullptr; // operations waiting for an SQE, FIFO
  Operation* qtail_ = nullptr;
  std::deque<Operation*> cancel_queue_; // cancels that found no SQE
  std::vector<Operation*> ready_;       // finished without the kernel
  std::vector<std::coroutine_handle<>> posted_;
  std::vector<std::uint32_t> fd_refs_; // see kDeferredClose in runtime.cpp
  CloseWaiter* close_waiters_ = nullptr;
  // Completions taken from the CQ and not dispatched yet: a member, so that
  // a loop run from inside a dispatch (a Scope unwinding, see ~Scope) goes
  // on with them rather than wait for CQEs already consumed.
  Completion batch_[64];
  unsigned batch_pos_ = 0;
  unsigned batch_len_ = 0;
  std::unique_ptr<StopSource> root_ = std::make_unique<StopSource>();
  RuntimeStats stats_;
  Runtime* prev_current_ = nullptr;
};

} // namespace aio
