#include "aio/signals.hpp"

#include "aio/ops.hpp"
#include "aio/race.hpp"

#include <poll.h>
#include <sys/signalfd.h>

#include <chrono>
#include <cstdio>

namespace aio {

Result<SignalSet> SignalSet::create(std::initializer_list<int> signals) {
  SignalSet s;
  sigemptyset(&s.mask_);
  for (int sig : signals) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) return errno_code(errno);
    if (old.sa_handler != SIG_IGN) sigaddset(&s.mask_, sig);
  }
  if (sigprocmask(SIG_BLOCK, &s.mask_, &s.old_) != 0) return errno_code(errno);
  s.owns_mask_ = true;
  int fd = signalfd(-1, &s.mask_, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return errno_code(errno);
  s.fd_.reset(fd);
  return s;
}

SignalSet::SignalSet(SignalSet&& o) noexcept
    : fd_(std::move(o.fd_)), mask_(o.mask_), old_(o.old_),
      owns_mask_(std::exchange(o.owns_mask_, false)) {}

SignalSet::~SignalSet() {
  if (owns_mask_) sigprocmask(SIG_SETMASK, &old_, nullptr);
}

Task<Result<int>> SignalSet::next() {
  bool any = false;
  for (int sig = 1; sig < NSIG; ++sig)
    any = any || watching(sig);
  if (!any) {
    for (;;) { // nothing to watch: wait to be stopped
      auto s = co_await sleep_for(std::chrono::hours(24));
      if (!s) co_return s.error();
    }
  }
  for (;;) {
    // signalfd cannot be read without blocking through io_uring unless it is
    // ready, so wait for readiness first: no io-wq worker.
    auto p = co_await poll(fd_.get(), POLLIN);
    if (!p) co_return p.error();
    signalfd_siginfo info{};
    auto r = co_await read(fd_.get(), std::as_writable_bytes(std::span(&info, 1)));
    if (!r) {
      if (r.error() == std::errc::resource_unavailable_try_again) continue;
      co_return r.error();
    }
    if (*r == sizeof info) co_return static_cast<int>(info.ssi_signo);
  }
}

namespace {
// One per process: a tool has one thread and one run_interruptible.
volatile sig_atomic_t g_interrupted_by = 0;
} // namespace

Task<int> run_interruptible(Task<int> body) {
  auto sigs = SignalSet::create({SIGINT, SIGTERM});
  if (!sigs) co_return co_await std::move(body); // cannot watch: run plainly
  auto r = co_await race(std::move(body), sigs->next());
  if (r.winner == 1 && r.second) {
    g_interrupted_by = *r.second;
    co_return 128 + *r.second;
  }
  co_return r.first;
}

int interrupted_by() noexcept { return g_interrupted_by; }

int exit_status(int code) noexcept {
  const int sig = g_interrupted_by;
  if (sig == 0) return code;
  std::fflush(nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, nullptr);
  raise(sig);
  // Only reached if the signal could not kill us (PID 1 in a namespace).
  return 128 + sig;
}

} // namespace aio
