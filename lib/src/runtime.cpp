#include "aio/runtime.hpp"

#include "aio/unique_fd.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace aio {
namespace {

thread_local Runtime* t_current = nullptr;

// Cancel CQEs carry the target's address with the low bit set; operations
// are at least 8-byte aligned, so the bit is free.
constexpr std::uint64_t kCancelTag = 1;
// CQEs of the shutdown's cancel-everything request.
constexpr std::uint64_t kInternal = 0;
// Per fd: the count of operations in flight on it, and kDeferredClose when
// its owner closed it meanwhile. One word per fd keeps this off vector<bool>'s
// bit arithmetic on every submit and completion.
constexpr std::uint32_t kDeferredClose = 1u << 31;

const std::vector<int>& required_opcodes() {
  static const std::vector<int> ops = {
      IORING_OP_NOP,      IORING_OP_READ,    IORING_OP_WRITE,        IORING_OP_OPENAT,
      IORING_OP_CLOSE,    IORING_OP_STATX,   IORING_OP_FSYNC,        IORING_OP_SPLICE,
      IORING_OP_POLL_ADD, IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL,
  };
  return ops;
}

// AIO_BACKEND: unset or empty lets the runtime choose.
enum class Forced { None, Uring, Epoll, Bad };
Forced forced_backend(const RuntimeOptions& opts) {
  if (opts.backend) return *opts.backend == BackendKind::Uring ? Forced::Uring : Forced::Epoll;
  const char* e = std::getenv("AIO_BACKEND");
  if (e == nullptr || *e == '\0') return Forced::None;
  if (std::strcmp(e, "uring") == 0 || std::strcmp(e, "io_uring") == 0) return Forced::Uring;
  if (std::strcmp(e, "epoll") == 0) return Forced::Epoll;
  return Forced::Bad;
}

// Sets up `ring` with every opcode the runtime needs; `why` says why not.
Result<void> init_uring(Ring& ring, const RuntimeOptions& opts, std::string* why) {
  if (auto r = ring.init(opts.ring, why); !r) return r.error();
  if (auto miss = ring.missing(required_opcodes()); !miss.empty()) {
    if (why != nullptr) {
      *why = "this kernel's io_uring lacks";
      for (const auto& m : miss)
        *why += " " + m;
    }
    ring.close();
    return errno_code(ENOSYS);
  }
  return {};
}

// The choice, leaving the ring set up in `ring` when it is io_uring.
Result<BackendKind> choose(Ring& ring, const RuntimeOptions& opts, std::string* why) {
  std::string reason;
  switch (forced_backend(opts)) {
  case Forced::Epoll: reason = "AIO_BACKEND=epoll"; break;
  case Forced::Bad:
    if (why != nullptr) *why = "AIO_BACKEND must be 'uring' or 'epoll'";
    return errno_code(EINVAL);
  case Forced::Uring:
    if (auto r = init_uring(ring, opts, why); !r) return r.error();
    return BackendKind::Uring;
  case Forced::None:
    if (init_uring(ring, opts, &reason)) return BackendKind::Uring;
    break;
  }
  if (why != nullptr) *why = reason;
  return BackendKind::Epoll;
}

} // namespace

Result<BackendKind> choose_backend(const RuntimeOptions& opts, std::string* why) {
  Ring probe;
  return choose(probe, opts, why);
}

std::string backend_line(const RuntimeOptions& opts) {
  std::string why;
  auto kind = choose_backend(opts, &why);
  if (!kind) return "backend: none (" + why + ")";
  std::string line = std::string("backend: ") + backend_kind_name(*kind);
  if (!why.empty()) line += " (" + why + ")";
  return line;
}

RuntimeOptions default_runtime_options() {
  RuntimeOptions o;
  const char* t = std::getenv("AIO_TRACE");
  o.trace = t != nullptr && *t != '\0' && std::strcmp(t, "0") != 0;
  return o;
}

void close_fd(int fd) noexcept {
  if (Runtime* rt = Runtime::current(); rt != nullptr && rt->defer_close(fd)) return;
  ::close(fd);
}

void Operation::on_stop(void* self) noexcept {
  auto* op = static_cast<Operation*>(self);
  op->rt_->cancel(*op);
}

Result<std::unique_ptr<Runtime>> Runtime::create(const RuntimeOptions& opts, std::string* why) {
  std::unique_ptr<Runtime> rt(new Runtime(opts.trace));
  std::string reason;
  auto kind = choose(rt->ring_, opts, &reason);
  if (!kind) {
    if (why != nullptr) *why = reason;
    return kind.error();
  }
  if (*kind == BackendKind::Epoll) {
    auto b = EpollBackend::create(opts.ring.entries);
    if (!b) {
      if (why != nullptr) *why = reason + "; cannot set up epoll: " + b.error().message();
      return b.error();
    }
    rt->epoll_ = std::move(*b);
    if (why != nullptr) *why = reason; // why not io_uring
  }
  if (rt->trace_)
    std::fprintf(stderr, "aio[%d]: backend    %s%s%s\n", static_cast<int>(getpid()),
                 rt->backend_name(), reason.empty() ? "" : ": ", reason.c_str());
  // No cap on operations in flight: a cap (it was half the CQ) let
  // thousands of long waits (FIFO reads) hold every slot, and a timer, a
  // signal's read or a nop queued behind them was never issued. CQEs past
  // the CQ's size are kept by the kernel (IORING_FEAT_NODROP, there since
  // 5.5, before every opcode we require) and reaped as room is made; the
  // user-space queue is only for a moment when no SQE can be had.
  rt->prev_current_ = t_current;
  t_current = rt.get();
  return rt;
}

Runtime::~Runtime() {
  // Work still in flight when its owner forgot to wait: cancel it all and
  // wait for every CQE, so the kernel never writes into freed memory and
  // nothing completes after the ring is gone.
  if (inflight_ > 0 || qhead_ != nullptr) drain();
  if (t_current == this) t_current = prev_current_;
}

AIO_HOT Runtime* Runtime::current() noexcept { return t_current; }

void Runtime::print_trace(const char* event, const Operation* op, int res) const noexcept {
  std::fprintf(stderr, "aio[%d]: %-10s %-8s op=%p fd=%d res=%d\n", static_cast<int>(getpid()),
               event, op != nullptr ? op->name() : "-", static_cast<const void*>(op),
               op != nullptr ? op->fd() : -1, res);
}

// Resets `op` for a new start; false (and done, with ECANCELED) if `token`
// is already stopped.
AIO_HOT bool Runtime::begin(Operation& op, StopToken token) noexcept {
  op.rt_ = this;
  op.cancel_requested_ = false;
  op.behind_head_ = false;
  op.link_next_ = nullptr;
  if (token.stop_requested()) {
    op.res_ = -ECANCELED;
    op.state_ = Operation::State::Done;
    ++stats_.cancelled_unsubmitted;
    trace("cancelled", &op, op.res_);
    return false;
  }
  retain_fd(op.fd_);
  retain_fd(op.fd2_);
  return true;
}

AIO_HOT void Runtime::enqueue(Operation& op) noexcept {
  op.state_ = Operation::State::Queued;
  op.qprev_ = qtail_;
  op.qnext_ = nullptr;
  (qtail_ != nullptr ? qtail_->qnext_ : qhead_) = &op;
  qtail_ = &op;
  ++stats_.queued;
  trace("queued", &op, 0);
}

AIO_HOT bool Runtime::start(Operation& op, StopToken token, bool now) noexcept {
  if (!begin(op, token)) return false;
  // Before the stop callback is attached: it touches other objects, cold
  // after a wake-up, and nothing can complete before the loop runs again.
  if (issue(op) && now) submit_now();
  op.stop_cb_.attach(token.source(), &Operation::on_stop, &op);
  return true;
}

AIO_HOT bool Runtime::start_linked(Operation& first, Operation& then, StopToken token) noexcept {
  const bool live = begin(first, token);
  (void)begin(then, token); // the same token: stopped for both or for neither
  if (!live) return false;
  first.link_next_ = &then;
  then.link_prev_ = &first;
  then.behind_head_ = true;
  (void)issue(first);
  first.stop_cb_.attach(token.source(), &Operation::on_stop, &first);
  then.stop_cb_.attach(token.source(), &Operation::on_stop, &then);
  return true;
}

AIO_HOT void Runtime::submit_now() noexcept {
  if (epoll_ != nullptr) [[unlikely]]
    return epoll_->submit();
  (void)io_uring_submit(ring_.get());
}

// The readiness backend's side of the seam is out of line and cold: on
// io_uring each costs one test of epoll_, and none of the epoll code sits
// among the AIO_HOT pages of acat -f's path.
io_uring_sqe* Runtime::epoll_get_sqe() noexcept {
  io_uring_sqe* sqe = epoll_->get_sqe();
  if (sqe == nullptr) {
    epoll_->submit();
    sqe = epoll_->get_sqe();
  }
  return sqe;
}

AIO_HOT io_uring_sqe* Runtime::get_sqe() noexcept {
  if (epoll_ != nullptr) [[unlikely]]
    return epoll_get_sqe();
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) {
    io_uring_submit(ring_.get());
    sqe = io_uring_get_sqe(ring_.get());
  }
  return sqe;
}

// Room for `n` SQEs in the SQ, submitting what is there to make it.
AIO_HOT bool Runtime::sq_room(unsigned n) noexcept {
  auto left = [this] {
    return epoll_ != nullptr ? epoll_->sq_space_left() : io_uring_sq_space_left(ring_.get());
  };
  if (left() >= n) return true;
  submit_now();
  return left() >= n;
}

// Prepares `op` (and, for the head of a linked pair, its tail right after
// it: a link must not straddle two submissions) or, when the SQ has no room
// even after a submit, queues it (them) in user space, behind what already
// waits there. False when queued.
AIO_HOT bool Runtime::issue(Operation& op) noexcept {
  Operation* tail = op.link_next_;
  if (qhead_ == nullptr && sq_room(tail != nullptr ? 2 : 1)) {
    prepare(op);
    if (tail != nullptr) prepare(*tail);
    return true;
  }
  enqueue(op);
  if (tail != nullptr) enqueue(*tail);
  return false;
}

AIO_HOT void Runtime::prepare(Operation& op) noexcept {
  io_uring_sqe* sqe = get_sqe(); // sq_room() made room
  op.prepare_(op, sqe);
  // Hard: the tail runs even when the head fails or is short, as an inotify
  // read always is.
  if (op.link_next_ != nullptr) {
    sqe->flags |= IOSQE_IO_HARDLINK;
    // The wait then ends with the tail's CQE alone: the kernel runs the
    // tail in the same wake-up instead of leaving it for another enter.
    if (op.quiet_) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  }
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(&op));
  op.state_ = Operation::State::InFlight;
  op.pending_cqes_ = 1;
  ++inflight_;
  ++stats_.submitted;
  trace("submit", &op, 0);
}

void Runtime::submit_cancel(Operation& op) noexcept {
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) {
    cancel_queue_.push_back(&op);
    return;
  }
  io_uring_prep_cancel64(sqe, reinterpret_cast<std::uintptr_t>(&op), 0);
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(&op) | kCancelTag);
  ++inflight_;
  ++stats_.cancels_sent;
  trace("cancel", &op, 0);
}

void Runtime::cancel(Operation& op) noexcept {
  if (op.cancel_requested_) return;
  op.cancel_requested_ = true;
  switch (op.state_) {
  case Operation::State::Queued:
    // Never reached the kernel: unlink it and finish it from the loop with a
    // synthetic ECANCELED (not from here: we may be deep in a stop request).
    // Its partner in a linked pair, if queued too, goes on alone.
    if (op.behind_head_) unlink_pair(*op.qprev_);
    if (op.link_next_ != nullptr) unlink_pair(op);
    (op.qprev_ != nullptr ? op.qprev_->qnext_ : qhead_) = op.qnext_;
    (op.qnext_ != nullptr ? op.qnext_->qprev_ : qtail_) = op.qprev_;
    op.res_ = -ECANCELED;
    op.state_ = Operation::State::Done;
    ++stats_.cancelled_unsubmitted;
    trace("cancelled", &op, op.res_);
    ready_.push_back(&op);
    return;
  case Operation::State::InFlight:
    // Behind its head the kernel has not issued it yet: an ASYNC_CANCEL
    // now would find nothing and be lost. dispatch() sends it once the
    // head is over. A quiet head may end without a word, so behind one the
    // cancel goes now, and again each turn while it finds nothing.
    if (op.behind_head_ && !op.link_prev_->quiet_) return;
    ++op.pending_cqes_; // the operation now ends after the cancel's CQE too
    submit_cancel(op);
    return;
  default: return;
  }
}

AIO_HOT void Runtime::flush_queues() noexcept {
  while (!cancel_queue_.empty()) {
    Operation* op = cancel_queue_.front();
    cancel_queue_.pop_front();
    submit_cancel(*op);
  }
  while (qhead_ != nullptr && sq_room(qhead_->link_next_ != nullptr ? 2 : 1)) {
    Operation* op = qhead_;
    Operation* tail = op->link_next_;
    qhead_ = (tail != nullptr ? tail : op)->qnext_;
    (qhead_ != nullptr ? qhead_->qprev_ : qtail_) = nullptr;
    prepare(*op);
    if (tail != nullptr) prepare(*tail);
  }
}

AIO_HOT bool Runtime::run_ready() noexcept {
  bool ran = false;
  while (!ready_.empty() || !posted_.empty()) {
    ran = true;
    std::vector<Operation*> batch;
    batch.swap(ready_);
    for (Operation* op : batch)
      finish(*op);
    std::vector<std::coroutine_handle<>> wake;
    wake.swap(posted_);
    for (auto h : wake)
      h.resume();
  }
  return ran;
}

AIO_HOT void Runtime::run_once() {
  // Work that finished without the kernel may have ended the caller's task:
  // give it a chance to look before waiting.
  if (run_ready()) return;
  flush_queues();
  if (inflight_ == 0) {
    // Nothing can ever wake us: a task is waiting on something that is not
    // an operation of this runtime. That is a bug in the caller.
    std::fputs("aio: deadlock: a task waits but no operation is in flight\n", stderr);
    std::abort();
  }
  if (epoll_ != nullptr) [[unlikely]]
    return wait_epoll();
  // Completions already in the CQ (those of an operation submitted at
  // once, see aio::Urgent) need no trip into the kernel.
  if (io_uring_sq_ready(ring_.get()) == 0 && io_uring_cq_ready(ring_.get()) > 0) {
    reap();
    return;
  }
  int ret;
  ++stats_.waits;
  do {
    ret = io_uring_submit_and_wait(ring_.get(), 1);
  } while (ret == -EINTR);
  if (ret < 0) enter_failed(ret);
  // With deferred task work the wait ends at the first CQE and leaves the
  // task work that CQE queued (the kernel's issue of a linked tail whose
  // head just completed) for the next enter. Running it now brings the pair
  // back in one pass: on acat -f's path the tail is the read of the new
  // bytes, and a pass through the loop for the head alone cost ~3 us.
  if ((IO_URING_READ_ONCE(*ring_.get()->sq.kflags) & IORING_SQ_TASKRUN) != 0)
    (void)io_uring_get_events(ring_.get());
  reap();
}

// io_uring_enter failed with something other than EINTR. Looping on as if
// it had waited would spin at full CPU with nothing ever completing.
void Runtime::enter_failed(int ret) noexcept {
  switch (-ret) {
  case EBUSY: // older kernels: overflowed CQEs must be reaped before a submit
    (void)io_uring_get_events(ring_.get());
    return;
  case EAGAIN: // the kernel could not allocate: give it a moment, then retry
  case ENOMEM: {
    const timespec pause{0, 1'000'000};
    nanosleep(&pause, nullptr);
    return;
  }
  default:
    // EEXIST (a ring of SINGLE_ISSUER entered from another thread), EBADR
    // (CQEs lost), EBADF, EFAULT: operations in flight can never be told
    // how they ended and the kernel may still own their buffers, so there
    // is no safe way on. A programming error or a broken ring: say so.
    std::fprintf(stderr, "aio: io_uring_enter failed: %s\n", std::strerror(-ret));
    std::abort();
  }
}

// run_once's wait on the readiness backend: it runs what was queued, waits
// in epoll for at least one completion, and its completions are reaped as
// CQEs are.
void Runtime::wait_epoll() noexcept {
  if (epoll_->sq_ready() > 0 || !epoll_->cq_ready()) {
    ++stats_.waits;
    epoll_->submit_and_wait();
  }
  reap();
}

void Runtime::drain() {
  if ((inflight_ > 0 || qhead_ != nullptr) && root_ != nullptr) root_->request_stop();
  bool swept = false;
  for (;;) {
    run_ready();
    flush_queues();
    if (inflight_ == 0) break;
    // The root's stop reaches only operations under its token; one started
    // with StopToken() (a chain its owner restarts, a close) would keep the
    // loop turning for ever once its owner is gone.
    if (!swept) cancel_everything();
    swept = true;
    run_once();
  }
}

// One ASYNC_CANCEL for every request in the kernel, whatever its token.
// Each cancelled one completes as usual, with -ECANCELED.
void Runtime::cancel_everything() noexcept {
  if (!sq_room(1)) return; // the next turn reaps; the root's cancels still go
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, kInternal);
  ++inflight_;
  trace("cancel-all", nullptr, 0);
}

AIO_HOT void Runtime::reap() noexcept {
  for (;;) {
    while (batch_pos_ < batch_len_) {
      const Completion c = batch_[batch_pos_++];
      dispatch(c.user_data, c.res);
    }
    batch_pos_ = batch_len_ = 0;
    if (epoll_ != nullptr) [[unlikely]] {
      batch_len_ = epoll_->reap(batch_, 64);
    } else {
      // Walk the CQ in place: io_uring_peek_batch_cqe costs ~70
      // instructions a call even when it finds one CQE, on the path of
      // every wake-up.
      unsigned head;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(ring_.get(), head, cqe) {
        batch_[batch_len_++] = {cqe->user_data, cqe->res};
        if (batch_len_ == 64) break;
      }
      // Consume before dispatching: resumed tasks may submit and wait again.
      io_uring_cq_advance(ring_.get(), batch_len_);
    }
    if (batch_len_ == 0) break;
  }
}

AIO_HOT void Runtime::dispatch(std::uint64_t user_data, int res) noexcept {
  --inflight_;
  if (user_data == kInternal) return;
  // user_data is the address the operation gave the kernel: the one
  // integer-to-pointer cast of the runtime, and it is the point of io_uring.
  auto* op =
      reinterpret_cast<Operation*>(user_data & ~kCancelTag); // NOLINT(performance-no-int-to-ptr)
  if ((user_data & kCancelTag) != 0) {
    // 0: found and cancelled; -ENOENT: already done; -EALREADY: running and
    // may still finish. In every case the target's own CQE tells its result.
    trace("cancel-cqe", op, res);
    if (res == -ENOENT && op->behind_head_) {
      // The tail of a quiet pair, not issued yet: its head runs, or ended
      // quietly and the kernel issues the tail in the task work of the
      // next enter. Ask again then (the head's own cancel ends a head that
      // still waits), keeping the CQE this one was counted as.
      cancel_queue_.push_back(op);
      return;
    }
  } else {
    // A tail's CQE while its head had none: the head succeeded quietly.
    if (op->behind_head_) quiet_head_done(*op->link_prev_);
    op->res_ = res;
    trace("complete", op, res);
    if (op->link_next_ != nullptr) head_done(*op);
  }
  if (--op->pending_cqes_ == 0) finish(*op);
}

// The head of a linked pair completed, so the kernel has issued its tail:
// from now on the tail is an ordinary operation, and a cancel that was asked
// for while it waited is sent now.
AIO_HOT void Runtime::head_done(Operation& head) noexcept {
  Operation& tail = *head.link_next_;
  unlink_pair(head);
  if (tail.cancel_requested_ && tail.state_ == Operation::State::InFlight) {
    ++tail.pending_cqes_;
    submit_cancel(tail);
  }
}

// The head of a linked pair succeeded without a CQE (Operation::set_quiet):
// account for the CQE it will never post. A cancel held for the tail is not
// needed, its own CQE is being dispatched.
AIO_HOT void Runtime::quiet_head_done(Operation& head) noexcept {
  --inflight_;
  head.res_ = 0;
  trace("complete", &head, 0);
  unlink_pair(head);
  if (--head.pending_cqes_ == 0) finish(head);
}

void Runtime::unlink_pair(Operation& head) noexcept {
  head.link_next_->behind_head_ = false;
  head.link_next_ = nullptr;
}

AIO_HOT void Runtime::finish(Operation& op) noexcept {
  op.state_ = Operation::State::Done;
  op.stop_cb_.detach();
  release_fd(op.fd_);
  release_fd(op.fd2_);
  ++stats_.completed;
  op.complete_(op);
}

AIO_HOT void Runtime::retain_fd(int fd) {
  if (fd < 0) return;
  auto i = static_cast<std::size_t>(fd);
  if (i >= fd_refs_.size()) fd_refs_.resize(i + 1, 0);
  ++fd_refs_[i];
}

AIO_HOT void Runtime::release_fd(int fd) noexcept {
  if (fd < 0) return;
  std::uint32_t& r = fd_refs_[static_cast<std::size_t>(fd)];
  if (--r == kDeferredClose) {
    r = 0;
    trace("close", nullptr, fd);
    // Never retried, not even on EINTR: Linux frees the number whatever
    // close returns, and a second close could hit someone else's fd.
    const int res = ::close(fd) == 0 || errno == EINTR ? 0 : -errno;
    for (CloseWaiter** w = &close_waiters_; *w != nullptr;) {
      if ((*w)->fd != fd) {
        w = &(*w)->next;
        continue;
      }
      (*w)->res = res;
      post((*w)->h);
      *w = (*w)->next;
    }
  }
}

bool Runtime::defer_close(int fd, CloseWaiter* waiter) noexcept {
  auto i = static_cast<std::size_t>(fd);
  if (fd < 0 || i >= fd_refs_.size() || (fd_refs_[i] & ~kDeferredClose) == 0) return false;
  fd_refs_[i] |= kDeferredClose;
  if (waiter != nullptr) {
    waiter->fd = fd;
    waiter->next = close_waiters_;
    close_waiters_ = waiter;
  }
  return true;
}

} // namespace aio
