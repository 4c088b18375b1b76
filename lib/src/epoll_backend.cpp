#include "aio/backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>

namespace aio {
namespace {

using Clock = std::chrono::steady_clock; // CLOCK_MONOTONIC, as io_uring's timeouts
constexpr std::uint64_t kNoOffset = static_cast<std::uint64_t>(-1);
constexpr std::uint32_t kAlways = POLLERR | POLLHUP; // reported whatever was asked
constexpr std::size_t kPageBytes = 4096;

bool linked(const io_uring_sqe& s) noexcept {
  return (s.flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK)) != 0;
}

// The kernel counts a short read or write as a failure in a link (and then
// posts a quiet head's CQE after all).
bool failed(const io_uring_sqe& s, int res) noexcept {
  if (res < 0) return true;
  const bool rw = s.opcode == IORING_OP_READ || s.opcode == IORING_OP_WRITE;
  return rw && static_cast<unsigned>(res) != s.len;
}

int neg_errno() noexcept { return -errno; }

// What poll(2) with no wait says of `fd` now, for `events`.
short ready_now(int fd, short events) noexcept {
  pollfd p{fd, events, 0};
  if (::poll(&p, 1, 0) < 0) return POLLERR;
  return p.revents;
}

// How much a write to a blocking pipe may carry without waiting for its
// reader: the free room, less a page (the reader's half-consumed page
// cannot take new bytes). poll's POLLOUT promises one free page at least.
std::size_t pipe_room(int fd, std::size_t len) noexcept {
  constexpr long kPage = kPageBytes;
  const int size = ::fcntl(fd, F_GETPIPE_SZ);
  int queued = 0;
  if (size <= 0 || ::ioctl(fd, FIONREAD, &queued) != 0) return std::min<std::size_t>(len, kPage);
  long room = size - (queued + kPage - 1) / kPage * kPage - kPage;
  room = std::max(room, kPage);
  return std::min(len, static_cast<std::size_t>(room));
}

} // namespace

const char* backend_kind_name(BackendKind k) noexcept {
  return k == BackendKind::Uring ? "io_uring" : "epoll";
}

struct EpollBackend::Request {
  io_uring_sqe sqe;
  Request* tail = nullptr; // linked behind this one, not issued yet
  FdWait* fdw = nullptr;   // waiting for readiness of this fd
  std::uint32_t events = 0;
  bool timed = false;
  bool known = false; // in Impl::by_data (cancellable)
  std::multimap<Clock::time_point, Request*>::iterator timer;
};

// An fd's registration is EPOLLONESHOT: an event disarms it, and the next
// wait re-arms it with one MOD, where ADD then DEL on every wait cost an
// epitem allocated and freed through RCU, two of the ~14 syscalls of an
// `acat -f` line. A disarmed registration can never fire, so keeping it
// between waits is safe even if the fd is closed behind our back.
struct EpollBackend::FdWait {
  int fd;
  std::uint32_t armed = 0; // what epoll may still report: 0 once fired
  bool present = false;    // in the epoll set, armed or not
  std::vector<Request*> waiters;
  // Per event bit, how many waiters want it: the union in O(1), where a
  // walk of 10,000 waiters per change made a mass cancel quadratic.
  std::array<unsigned, 32> wanted{};
  // The bits of `wanted` that are not 0, kept as they change: a wait or
  // its end touches only its own bits (one, POLLIN or POLLOUT), where
  // walking all 32 counters took ~800 instructions of an acat -f line.
  std::uint32_t wanted_bits = 0;

  void add(std::uint32_t events) noexcept {
    for (std::uint32_t e = events; e != 0; e &= e - 1) {
      const int b = std::countr_zero(e);
      if (wanted[b]++ == 0) wanted_bits |= 1U << b;
    }
  }
  void remove(std::uint32_t events) noexcept {
    for (std::uint32_t e = events; e != 0; e &= e - 1) {
      const int b = std::countr_zero(e);
      if (--wanted[b] == 0) wanted_bits &= ~(1U << b);
    }
  }
};

namespace {

// Waiting requests by user_data, for cancels: open addressing with linear
// probing and backward-shift deletion. A follower's every line adds its
// inotify read here and takes it out again; an unordered_map allocated and
// freed a node for that each time, one more cold line to touch per wake-up.
class WaitIndex {
public:
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

  EpollBackend::Request* find(std::uint64_t key) const noexcept {
    for (std::size_t i = home(key);; i = (i + 1) & mask())
      if (slots_[i].r == nullptr || slots_[i].key == key) return slots_[i].r;
  }

  // As map[key] = r: a second request with the same user_data replaces the first.
  void set(std::uint64_t key, EpollBackend::Request* r) {
    if (2 * (count_ + 1) > slots_.size()) grow();
    std::size_t i = home(key);
    while (slots_[i].r != nullptr && slots_[i].key != key)
      i = (i + 1) & mask();
    if (slots_[i].r == nullptr) ++count_;
    slots_[i] = {key, r};
  }

  void erase(std::uint64_t key) noexcept {
    std::size_t i = home(key);
    while (slots_[i].key != key || slots_[i].r == nullptr) {
      if (slots_[i].r == nullptr) return;
      i = (i + 1) & mask();
    }
    --count_;
    // Pull back every later entry of the run that may sit in the hole, so a
    // lookup never stops at an empty slot before its key.
    for (std::size_t j = i;;) {
      slots_[i].r = nullptr;
      for (;;) {
        j = (j + 1) & mask();
        if (slots_[j].r == nullptr) return;
        const std::size_t h = home(slots_[j].key);
        const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (!stays) break;
      }
      slots_[i] = slots_[j];
      i = j;
    }
  }

  // Calls f(request) for each entry until f returns false.
  template <class F> void each(F f) const {
    for (const Slot& s : slots_)
      if (s.r != nullptr && !f(s.r)) return;
  }

private:
  struct Slot {
    std::uint64_t key = 0;
    EpollBackend::Request* r = nullptr; // null: empty
  };
  std::size_t mask() const noexcept { return slots_.size() - 1; }
  std::size_t home(std::uint64_t k) const noexcept {
    k ^= k >> 33; // user_data are mostly aligned addresses: mix the bits
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<std::size_t>(k) & mask();
  }
  void grow() {
    std::vector<Slot> old(2 * slots_.size());
    old.swap(slots_);
    count_ = 0;
    for (const Slot& s : old)
      if (s.r != nullptr) set(s.key, s.r);
  }

  std::vector<Slot> slots_ = std::vector<Slot>(64); // a power of two
  std::size_t count_ = 0;
};

} // namespace

struct EpollBackend::Impl {
  std::deque<Request> pool; // stable addresses
  std::vector<Request*> free;
  WaitIndex by_data; // waiting, by user_data
  // By fd number, allocated on an fd's first wait and kept (reset, not
  // freed) after: a follower's wake-up finds its fd's waiters with one
  // load, where a hash map took a division and two dependent cold loads.
  std::vector<std::unique_ptr<FdWait>> fds;
  std::vector<Request*> run;           // poll_once's scratch: no allocation per wake-up
  std::vector<std::uint8_t> no_nowait; // by fd number: 1 where RWF_NOWAIT writes are refused
  std::multimap<Clock::time_point, Request*> timers;

  FdWait* find_fd(int fd) const noexcept {
    const auto i = static_cast<std::size_t>(fd);
    return fd >= 0 && i < fds.size() ? fds[i].get() : nullptr;
  }
  FdWait& fd_wait(int fd) {
    const auto i = static_cast<std::size_t>(fd);
    if (i >= fds.size()) fds.resize(i + 1);
    if (fds[i] == nullptr) {
      fds[i] = std::make_unique<FdWait>();
      fds[i]->fd = fd;
    }
    return *fds[i];
  }
};

Result<std::unique_ptr<EpollBackend>> EpollBackend::create(unsigned entries) {
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return errno_code(errno);
  return std::unique_ptr<EpollBackend>(new EpollBackend(epfd, std::max(entries, 2U)));
}

EpollBackend::EpollBackend(int epfd, unsigned entries)
    : epfd_(epfd), sq_entries_(entries), sq_(new io_uring_sqe[entries]),
      impl_(std::make_unique<Impl>()) {
  cq_.reserve(2 * std::size_t{entries});
}

EpollBackend::~EpollBackend() { ::close(epfd_); }

io_uring_sqe* EpollBackend::get_sqe() noexcept {
  if (sq_count_ == sq_entries_) return nullptr;
  io_uring_sqe* s = &sq_[sq_count_++];
  std::memset(s, 0, sizeof *s);
  return s;
}

std::size_t EpollBackend::registered_fds() const noexcept {
  return static_cast<std::size_t>(std::count_if(impl_->fds.begin(), impl_->fds.end(),
                                                [](const auto& w) { return w && w->armed != 0; }));
}
std::size_t EpollBackend::waiting() const noexcept { return impl_->by_data.size(); }

EpollBackend::Request* EpollBackend::alloc(const io_uring_sqe& sqe) noexcept {
  Request* r;
  if (!impl_->free.empty()) {
    r = impl_->free.back();
    impl_->free.pop_back();
    *r = Request{};
  } else {
    r = &impl_->pool.emplace_back();
  }
  r->sqe = sqe;
  return r;
}

void EpollBackend::release(Request* r) noexcept { impl_->free.push_back(r); }

void EpollBackend::submit() noexcept {
  // Copied out first: issuing never takes SQ slots, but a chain is built
  // from adjacent SQEs before any of it runs.
  const unsigned n = sq_count_;
  sq_count_ = 0;
  for (unsigned i = 0; i < n; ++i) {
    Request* head = alloc(sq_[i]);
    for (Request* cur = head; linked(cur->sqe) && i + 1 < n; cur = cur->tail)
      cur->tail = alloc(sq_[++i]);
    issue(head);
  }
}

void EpollBackend::submit_and_wait() noexcept {
  submit();
  // With completions in hand, still look at epoll and the clock once
  // without waiting: a stream of reads of a regular file (always ready)
  // must not starve a FIFO, a signalfd or a timer.
  if (cq_ready()) {
    if (!impl_->by_data.empty()) poll_once(false);
    return;
  }
  while (!cq_ready())
    poll_once(true);
}

unsigned EpollBackend::reap(Completion* out, unsigned max) noexcept {
  unsigned n = 0;
  while (n < max && cq_head_ < cq_.size())
    out[n++] = cq_[cq_head_++];
  if (cq_head_ == cq_.size()) {
    cq_.clear();
    cq_head_ = 0;
  }
  return n;
}

void EpollBackend::complete(Request* r, int res) noexcept {
  const io_uring_sqe& s = r->sqe;
  if (r->known) {
    impl_->by_data.erase(s.user_data);
    r->known = false;
  }
  const bool fail = failed(s, res);
  // A quiet success posts nothing, as IOSQE_CQE_SKIP_SUCCESS in the kernel.
  if (fail || (s.flags & IOSQE_CQE_SKIP_SUCCESS) == 0) post(s.user_data, res);
  Request* tail = r->tail;
  const bool soft = (s.flags & IOSQE_IO_HARDLINK) == 0;
  release(r);
  if (tail == nullptr) return;
  // A hard link issues the tail whatever the head's result; a soft one
  // cancels the rest of the chain after a failure.
  if (soft && fail) {
    tail->sqe.flags &= static_cast<std::uint8_t>(~IOSQE_CQE_SKIP_SUCCESS);
    complete(tail, -ECANCELED);
  } else {
    issue(tail);
  }
}

void EpollBackend::issue(Request* r) noexcept {
  const io_uring_sqe& s = r->sqe;
  const int fd = s.fd;
  const auto* path = reinterpret_cast<const char*>(s.addr); // NOLINT(performance-no-int-to-ptr)
  const auto* path2 = reinterpret_cast<const char*>(s.off); // NOLINT(performance-no-int-to-ptr)
  int res = 0;
  switch (s.opcode) {
  case IORING_OP_NOP: break;
  case IORING_OP_READ:
  case IORING_OP_WRITE:
  case IORING_OP_SPLICE:
  case IORING_OP_POLL_ADD: (void)attempt(r); return;
  case IORING_OP_TIMEOUT: {
    const auto* ts = reinterpret_cast<const __kernel_timespec*>(s.addr); // NOLINT
    const auto d = std::chrono::seconds(ts->tv_sec) + std::chrono::nanoseconds(ts->tv_nsec);
    const auto at = (s.timeout_flags & IORING_TIMEOUT_ABS) != 0
                        ? Clock::time_point(std::chrono::duration_cast<Clock::duration>(d))
                        : Clock::now() + std::chrono::duration_cast<Clock::duration>(d);
    r->timed = true;
    r->timer = impl_->timers.emplace(at, r);
    r->known = true;
    impl_->by_data.set(s.user_data, r);
    return;
  }
  case IORING_OP_ASYNC_CANCEL:
    cancel(s);
    res = cancel_result_;
    break;
  case IORING_OP_OPENAT: {
    // As io_uring's inline attempt: a FIFO's open never waits for its peer;
    // O_NONBLOCK is dropped again if it was not asked for.
    const int flags = static_cast<int>(s.open_flags);
    res = ::openat(fd, path, flags | O_NONBLOCK, static_cast<mode_t>(s.len));
    if (res < 0)
      res = neg_errno();
    else if ((flags & O_NONBLOCK) == 0)
      (void)::fcntl(res, F_SETFL, ::fcntl(res, F_GETFL) & ~O_NONBLOCK);
    break;
  }
  case IORING_OP_CLOSE:
    forget_fd(fd);
    res = ::close(fd) == 0 ? 0 : neg_errno();
    break;
  case IORING_OP_STATX:
    res = ::statx(fd, path, static_cast<int>(s.statx_flags), s.len,
                  reinterpret_cast<struct statx*>(s.off)) == 0 // NOLINT
              ? 0
              : neg_errno();
    break;
  case IORING_OP_FSYNC:
    res = ((s.fsync_flags & IORING_FSYNC_DATASYNC) != 0 ? ::fdatasync(fd) : ::fsync(fd)) == 0
              ? 0
              : neg_errno();
    break;
  case IORING_OP_MKDIRAT:
    res = ::mkdirat(fd, path, static_cast<mode_t>(s.len)) == 0 ? 0 : neg_errno();
    break;
  case IORING_OP_UNLINKAT:
    res = ::unlinkat(fd, path, static_cast<int>(s.unlink_flags)) == 0 ? 0 : neg_errno();
    break;
  case IORING_OP_RENAMEAT:
    res = ::renameat2(fd, path, static_cast<int>(s.len), path2, s.rename_flags) == 0 ? 0
                                                                                     : neg_errno();
    break;
  case IORING_OP_LINKAT:
    res =
        ::linkat(fd, path, static_cast<int>(s.len), path2, static_cast<int>(s.hardlink_flags)) == 0
            ? 0
            : neg_errno();
    break;
  case IORING_OP_SYMLINKAT: res = ::symlinkat(path, fd, path2) == 0 ? 0 : neg_errno(); break;
  case IORING_OP_FALLOCATE:
    res = ::fallocate(fd, static_cast<int>(s.len), static_cast<off_t>(s.off),
                      static_cast<off_t>(s.addr)) == 0
              ? 0
              : neg_errno();
    break;
  case IORING_OP_FGETXATTR: {
    const ssize_t n = ::fgetxattr(fd, path, reinterpret_cast<void*>(s.off), s.len); // NOLINT
    res = n >= 0 ? static_cast<int>(n) : neg_errno();
    break;
  }
  case IORING_OP_FSETXATTR:
    res = ::fsetxattr(fd, path, reinterpret_cast<const void*>(s.off), s.len, // NOLINT
                      static_cast<int>(s.xattr_flags)) == 0
              ? 0
              : neg_errno();
    break;
  default: res = -EINVAL; break;
  }
  complete(r, res);
}

void EpollBackend::no_nowait(int fd) noexcept {
  auto& v = impl_->no_nowait;
  const auto i = static_cast<std::size_t>(fd);
  if (i >= v.size()) v.resize(i + 1, 0);
  v[i] = 1;
}

// A write tried first with RWF_NOWAIT: on a pipe or a socket, blocking or
// not, that is a non-blocking write (it takes what fits, or EAGAIN), so a
// blocking stdout needs no fcntl and no poll before each write: two of
// the syscalls between an `acat -f` wake-up and its write. An fd that
// refuses the flag (a tty, ext4's buffered writes: EOPNOTSUPP) is noted
// and written the ordinary way from then on; a stale note (its number
// reused) only costs those two syscalls again. A socket whose peer is gone
// raises SIGPIPE, as io_uring's write to it does (the tools ignore it).
EpollBackend::Nowait EpollBackend::write_nowait(Request* r) noexcept {
  const io_uring_sqe& s = r->sqe;
  const int fd = s.fd;
  const auto i = static_cast<std::size_t>(fd);
  if (fd < 0 || (i < impl_->no_nowait.size() && impl_->no_nowait[i] != 0))
    return Nowait::Unsupported;
  iovec iov{reinterpret_cast<void*>(s.addr), s.len}; // NOLINT(performance-no-int-to-ptr)
  // The offset is ignored on a stream (a pipe), as io_uring ignores it.
  auto off = s.off == kNoOffset ? static_cast<off_t>(-1) : static_cast<off_t>(s.off);
  const int flags = static_cast<int>(s.rw_flags) | RWF_NOWAIT;
  ssize_t n;
  do {
    n = ::pwritev2(fd, &iov, 1, off, flags);
    if (n < 0 && errno == ESPIPE && off != -1) {
      off = -1;
      n = ::pwritev2(fd, &iov, 1, off, flags);
    }
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return complete(r, static_cast<int>(n)), Nowait::Done;
  const int err = errno;
  // EAGAIN: no room, or a file's write would wait for its disk; the
  // ordinary way tells which (and waits in epoll for the first).
  if (err == EAGAIN) return Nowait::Again;
  // Kernels before 4.14 say EINVAL of the flag; the ordinary write gives
  // any other EINVAL again.
  if (err == EOPNOTSUPP || err == EINVAL) {
    no_nowait(fd);
    return Nowait::Unsupported;
  }
  return complete(r, -err), Nowait::Done;
}

// One try of a read, write, splice or poll: completes `r`, or leaves it
// waiting in epoll for the readiness it lacks. Returns true if completed.
// `readable`: epoll has just reported POLLIN for this read's fd, so it is
// read at once, blocking fd or not, without asking fcntl first (a syscall
// on every wake-up of a follower).
bool EpollBackend::attempt(Request* r, bool readable) noexcept {
  const io_uring_sqe& s = r->sqe;
  const int fd = s.fd;
  if (s.opcode == IORING_OP_POLL_ADD) {
    const short want = static_cast<short>(s.poll32_events);
    const short got = ready_now(fd, want);
    if ((got & POLLNVAL) != 0) return complete(r, -EBADF), true;
    // A poll's result is its revents: 16 bits, never negative.
    const auto seen = static_cast<int>(static_cast<std::uint32_t>(got) & (want | kAlways));
    if (seen != 0) return complete(r, seen), true;
    return wait_fd(r, fd, static_cast<std::uint32_t>(want)), false;
  }
  if (s.opcode == IORING_OP_SPLICE) {
    const int in = s.splice_fd_in;
    auto off_in = static_cast<loff_t>(s.splice_off_in);
    auto off_out = static_cast<loff_t>(s.off);
    // SPLICE_F_NONBLOCK: the pipe ends never block, whatever their O_NONBLOCK.
    const unsigned flags = s.splice_flags | SPLICE_F_NONBLOCK;
    ssize_t n;
    do {
      n = ::splice(in, s.splice_off_in == kNoOffset ? nullptr : &off_in, fd,
                   s.off == kNoOffset ? nullptr : &off_out, s.len, flags);
    } while (n < 0 && errno == EINTR);
    if (n >= 0 || errno != EAGAIN)
      return complete(r, n >= 0 ? static_cast<int>(n) : neg_errno()), true;
    // Wait for whichever side is not ready.
    if ((ready_now(in, POLLIN) & (POLLIN | kAlways)) == 0)
      wait_fd(r, in, POLLIN);
    else
      wait_fd(r, fd, POLLOUT);
    return false;
  }
  const bool rd = s.opcode == IORING_OP_READ;
  bool nowait_again = false; // a write with RWF_NOWAIT found no room
  if (!rd) {
    switch (write_nowait(r)) {
    case Nowait::Done: return true;
    case Nowait::Again: nowait_again = true; break;
    case Nowait::Unsupported: break;
    }
  }
  const short want = rd ? POLLIN : POLLOUT;
  const int fl = rd && readable ? O_NONBLOCK : ::fcntl(fd, F_GETFL);
  if (fl < 0) return complete(r, neg_errno()), true;
  std::size_t len = s.len;
  bool sock = false;
  if ((fl & O_NONBLOCK) == 0) {
    // A blocking fd (an inherited stdin or stdout: its O_NONBLOCK is not
    // ours to flip, other processes share it) is touched only once ready;
    // a regular file always is.
    const short got = ready_now(fd, want);
    if ((got & POLLNVAL) != 0) return complete(r, -EBADF), true;
    if ((got & (want | kAlways)) == 0)
      return wait_fd(r, fd, static_cast<std::uint32_t>(want)), false;
    // A write of at most a page after POLLOUT fits whatever the fd is (a
    // pipe's free slot, a socket's send buffer, at least a quarter free):
    // no need for fstat, one syscall a line of a follower.
    struct stat st {};
    if (!rd && (len > kPageBytes || nowait_again) && ::fstat(fd, &st) == 0) {
      // A write longer than the pipe's room would block until the reader
      // drained it; a socket takes MSG_DONTWAIT.
      if (S_ISFIFO(st.st_mode)) len = pipe_room(fd, len);
      sock = S_ISSOCK(st.st_mode);
      // EAGAIN, yet ready: a file whose write would wait for the disk
      // (RWF_NOWAIT's other EAGAIN). Written the ordinary way from now on.
      if (nowait_again && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) no_nowait(fd);
    }
  }
  auto* buf = reinterpret_cast<void*>(s.addr); // NOLINT(performance-no-int-to-ptr)
  ssize_t n;
  do {
    if (sock) {
      n = ::send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else {
      iovec iov{buf, len};
      // The offset is ignored on a stream (a pipe), as io_uring ignores it.
      auto off = s.off == kNoOffset ? static_cast<off_t>(-1) : static_cast<off_t>(s.off);
      n = rd ? ::preadv2(fd, &iov, 1, off, static_cast<int>(s.rw_flags))
             : ::pwritev2(fd, &iov, 1, off, static_cast<int>(s.rw_flags));
      if (n < 0 && errno == ESPIPE && off != -1)
        n = rd ? ::preadv2(fd, &iov, 1, -1, static_cast<int>(s.rw_flags))
               : ::pwritev2(fd, &iov, 1, -1, static_cast<int>(s.rw_flags));
    }
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || (sock && errno == EWOULDBLOCK)))
    return wait_fd(r, fd, static_cast<std::uint32_t>(want)), false;
  complete(r, n >= 0 ? static_cast<int>(n) : neg_errno());
  return true;
}

void EpollBackend::wait_fd(Request* r, int fd, std::uint32_t events) noexcept {
  if (fd < 0) return complete(r, -EBADF);
  FdWait& w = impl_->fd_wait(fd);
  w.waiters.push_back(r);
  r->fdw = &w;
  r->events = events;
  w.add(events);
  if (!r->known) {
    r->known = true;
    impl_->by_data.set(r->sqe.user_data, r);
  }
  update_interest(w);
}

// Takes `r` off its fd's list; the caller updates the epoll interest.
void EpollBackend::unwait_fd(Request* r) noexcept {
  FdWait& w = *r->fdw;
  auto& v = w.waiters;
  v.erase(std::find(v.begin(), v.end(), r));
  w.remove(r->events);
  r->fdw = nullptr;
}

// Gives epoll the union of what the fd's waiters want. With no waiter
// left, an armed registration (a cancelled wait) is removed, so nothing of
// a cancelled read stays; a disarmed one is kept for the next wait.
void EpollBackend::update_interest(FdWait& w) noexcept {
  const std::uint32_t want = w.wanted_bits;
  if (want == w.armed) return;
  if (want == 0) {
    (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, w.fd, nullptr);
    w.armed = 0;
    w.present = false;
    return;
  }
  epoll_event ev{};
  ev.events = want | EPOLLONESHOT;
  ev.data.fd = w.fd;
  int rc = ::epoll_ctl(epfd_, w.present ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w.fd, &ev);
  // Kept from a file since closed behind our back (ENOENT), or added by
  // a wait whose entry we dropped (EEXIST): the other verb is right.
  if (rc != 0 && w.present && errno == ENOENT)
    rc = ::epoll_ctl(epfd_, EPOLL_CTL_ADD, w.fd, &ev);
  else if (rc != 0 && !w.present && errno == EEXIST)
    rc = ::epoll_ctl(epfd_, EPOLL_CTL_MOD, w.fd, &ev);
  if (rc == 0) {
    w.armed = want;
    w.present = true;
    return;
  }
  // Cannot be waited for (EPERM: not pollable; EBADF): fail the waiters
  // rather than wait forever.
  const int err = errno;
  std::vector<Request*> stuck;
  stuck.swap(w.waiters);
  if (w.present) (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, w.fd, nullptr);
  w.armed = 0;
  w.present = false;
  w.wanted = {};
  w.wanted_bits = 0;
  for (Request* r : stuck) {
    r->fdw = nullptr;
    complete(r, -err);
  }
}

// Before the backend closes `fd`: its kept registration goes with it.
void EpollBackend::forget_fd(int fd) noexcept {
  if (const auto i = static_cast<std::size_t>(fd); fd >= 0 && i < impl_->no_nowait.size())
    impl_->no_nowait[i] = 0;
  FdWait* w = impl_->find_fd(fd);
  if (w == nullptr || !w->waiters.empty()) return;
  if (w->present) (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  w->armed = 0;
  w->present = false;
}

void EpollBackend::cancel(const io_uring_sqe& s) noexcept {
  const unsigned f = s.cancel_flags;
  const bool all = (f & (IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY)) != 0;
  std::vector<Request*> targets;
  if ((f & (IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_FD)) != 0) {
    impl_->by_data.each([&](Request* r) {
      if ((f & IORING_ASYNC_CANCEL_ANY) != 0 || r->sqe.fd == s.fd) targets.push_back(r);
      return all || targets.empty();
    });
  } else if (Request* r = impl_->by_data.find(s.addr); r != nullptr) {
    targets.push_back(r);
  }
  for (Request* r : targets)
    cancel_one(r);
  const int found = static_cast<int>(targets.size());
  cancel_result_ = found == 0 ? -ENOENT : all ? found : 0;
}

// Drops `r`'s wait (its epoll interest or its deadline) and completes it
// with ECANCELED: it is over, nothing is read or written for it after this.
void EpollBackend::cancel_one(Request* r) noexcept {
  if (r->fdw != nullptr) {
    FdWait& w = *r->fdw;
    unwait_fd(r);
    update_interest(w);
  }
  if (r->timed) {
    impl_->timers.erase(r->timer);
    r->timed = false;
  }
  complete(r, -ECANCELED);
}

void EpollBackend::expire_timers() noexcept {
  if (impl_->timers.empty()) return;
  const auto now = Clock::now();
  while (!impl_->timers.empty() && impl_->timers.begin()->first <= now) {
    Request* r = impl_->timers.begin()->second;
    impl_->timers.erase(impl_->timers.begin());
    r->timed = false;
    complete(r, -ETIME);
  }
}

void EpollBackend::poll_once(bool block) noexcept {
  timespec ts{0, 0};
  timespec* tsp = &ts;
  if (block) {
    if (impl_->timers.empty()) {
      tsp = nullptr;
    } else {
      auto d = impl_->timers.begin()->first - Clock::now();
      if (d.count() > 0) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
        ts.tv_sec = ns / 1'000'000'000;
        ts.tv_nsec = ns % 1'000'000'000;
      }
    }
  }
  epoll_event evs[64];
  int n = ::epoll_pwait2(epfd_, evs, 64, tsp, nullptr);
  if (n < 0 && errno == ENOSYS) {
    // Before 5.11: milliseconds, rounded up so a deadline is never early.
    int ms = tsp == nullptr
                 ? -1
                 : static_cast<int>(ts.tv_sec * 1000 + (ts.tv_nsec + 999'999) / 1'000'000);
    n = ::epoll_wait(epfd_, evs, 64, ms);
  }
  std::vector<Request*>& run = impl_->run; // attempt() never comes back here
  for (int i = 0; i < n; ++i) {
    FdWait* w = impl_->find_fd(evs[i].data.fd);
    if (w == nullptr) continue;
    const std::uint32_t got = evs[i].events;
    w->armed = 0; // EPOLLONESHOT: fired, so disarmed
    run.clear();
    for (Request* r : w->waiters)
      if ((r->events & got) != 0 || (got & kAlways) != 0) run.push_back(r);
    for (Request* r : run)
      unwait_fd(r);
    // Each retry completes or waits again, on this fd or another (a
    // linked tail issued on completion); the FdWait itself stays put. A
    // tail issued by an earlier retry may have cancelled a later one (an
    // ASYNC_CANCEL linked behind a read): that one is over, and its
    // Request may already serve another operation, so it is skipped.
    for (Request* r : run)
      if (impl_->by_data.find(r->sqe.user_data) == r)
        (void)attempt(r, (got & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0);
    update_interest(*w);
  }
  expire_timers();
}

} // namespace aio
