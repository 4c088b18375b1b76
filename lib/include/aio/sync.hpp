// Coordination between tasks on the one thread: an Event (many waiters,
// manual reset) and a FIFO Mutex. Waiting never blocks the thread, and a
// stop request ends a wait with ECANCELED (woken from the loop, not from
// inside the stop request).
#pragma once

#include "aio/hot.hpp"

#include "aio/result.hpp"
#include "aio/runtime.hpp"
#include "aio/stop.hpp"

#include <algorithm>
#include <coroutine>
#include <deque>
#include <utility>
#include <vector>

namespace aio {

namespace detail {
// A waiter parked on a list until woken or stopped.
struct Waiter {
  std::coroutine_handle<> h;
  StopCallback cb;
  bool cancelled = false;
  void (*unlink)(Waiter*) noexcept = nullptr;
  void* list = nullptr;

  // Parks on `waiters` (a vector or deque of Waiter*) until woken; a stop
  // unlinks it and resumes it from the loop with `cancelled` set. False
  // when the task is already stopped (nothing is parked).
  template <class P, class List> bool park(std::coroutine_handle<P> ch, List& waiters) {
    StopToken tok = ch.promise().stop_token();
    if (tok.stop_requested()) {
      cancelled = true;
      return false;
    }
    h = ch;
    list = &waiters;
    unlink = [](Waiter* w) noexcept {
      auto& ws = *static_cast<List*>(w->list);
      ws.erase(std::find(ws.begin(), ws.end(), w));
    };
    waiters.push_back(this);
    cb.attach(tok.source(), &Waiter::on_stop, this);
    return true;
  }
  // Ok, or ECANCELED if the wait was stopped.
  Result<void> finish() {
    cb.detach();
    if (cancelled) return errno_code(ECANCELED);
    return {};
  }

private:
  static void on_stop(void* p) noexcept {
    auto* w = static_cast<Waiter*>(p);
    w->unlink(w);
    w->cancelled = true;
    Runtime::current()->post(w->h);
  }
};
} // namespace detail

class Event {
public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Wakes every waiter; later waits return at once until reset().
  void set() noexcept {
    set_ = true;
    auto woken = std::exchange(waiters_, {});
    for (auto* w : woken) {
      w->cb.detach();
      Runtime::current()->post(w->h);
    }
  }
  void reset() noexcept { set_ = false; }
  bool is_set() const noexcept { return set_; }

  class WaitOp {
  public:
    explicit WaitOp(Event* e) : e_(e) {}
    bool await_ready() const noexcept { return e_->set_; }
    template <class P> bool await_suspend(std::coroutine_handle<P> h) {
      return w_.park(h, e_->waiters_);
    }
    Result<void> await_resume() { return w_.finish(); }

  private:
    Event* e_;
    detail::Waiter w_;
  };
  // Ok once the event is set; ECANCELED if the task is stopped first.
  WaitOp wait() { return WaitOp(this); }

private:
  bool set_ = false;
  std::vector<detail::Waiter*> waiters_;
};

// A mutex for tasks: lock() waits (first come, first served) and gives a
// Guard that unlocks when it dies, handing the lock straight to the next
// waiter so no one can barge in between.
class Mutex {
public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  class Guard {
  public:
    Guard() = default;
    explicit Guard(Mutex* m) : m_(m) {}
    Guard(Guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
    Guard& operator=(Guard&& o) noexcept {
      if (this != &o) {
        unlock();
        m_ = std::exchange(o.m_, nullptr);
      }
      return *this;
    }
    ~Guard() { unlock(); }
    explicit operator bool() const noexcept { return m_ != nullptr; }
    void unlock() noexcept {
      if (m_ != nullptr) std::exchange(m_, nullptr)->release();
    }

  private:
    Mutex* m_ = nullptr;
  };

  bool locked() const noexcept { return locked_; }
  // Locks it if it is free, with no suspension point and no Result: the
  // uncontended case of a latency path.
  Guard try_lock() noexcept {
    if (locked_) return {};
    locked_ = true;
    return Guard(this);
  }

  class LockOp {
  public:
    explicit LockOp(Mutex* m) : m_(m) {}
    bool await_ready() noexcept {
      if (m_->locked_) return false;
      m_->locked_ = true;
      return true;
    }
    template <class P> bool await_suspend(std::coroutine_handle<P> h) {
      return w_.park(h, m_->waiters_);
    }
    Result<Guard> await_resume() {
      if (auto r = w_.finish(); !r) return r.error();
      return Guard(m_);
    }

  private:
    Mutex* m_;
    detail::Waiter w_;
  };
  LockOp lock() { return LockOp(this); }

private:
  AIO_HOT void release() noexcept {
    if (waiters_.empty()) {
      locked_ = false;
      return;
    }
    // Ownership passes to the first waiter; locked_ stays true.
    detail::Waiter* w = waiters_.front();
    waiters_.pop_front();
    w->cb.detach();
    Runtime::current()->post(w->h);
  }
  bool locked_ = false;
  std::deque<detail::Waiter*> waiters_;
};

} // namespace aio
