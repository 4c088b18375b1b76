// race / with_timeout: run tasks side by side; the first to end wins, the
// others are cancelled, and race returns only after all of them have ended.
// Every outcome is returned, the losers' too: a read cancelled too late
// still carries its bytes, and they must not be dropped.
#pragma once

#include "aio/ops.hpp"
#include "aio/scope.hpp"

#include <chrono>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace aio {

template <class A, class B> struct Raced {
  std::size_t winner; // 0: the first task ended first; 1: the second
  // A void task's outcome is whether it ended (a member cannot be void).
  std::conditional_t<std::is_void_v<A>, bool, A> first;
  std::conditional_t<std::is_void_v<B>, bool, B> second;
};

namespace detail {

template <class T> using Slot = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

template <class A, class B> class RaceAwaiter final : private ChildSink {
public:
  RaceAwaiter(Task<A> a, Task<B> b) : a_(std::move(a)), b_(std::move(b)) {}
  bool await_ready() noexcept { return false; }
  template <class P> std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) {
    parent_ = h;
    source_.link_to(h.promise().stop_token());
    remaining_ = 2;
    start_runner(run_child(std::move(a_), storer<0>(), failer()), source_.token(), this);
    start_runner(run_child(std::move(b_), storer<1>(), failer()), source_.token(), this);
    // Both runners ran until their first suspension; if both already ended,
    // the last of them resumed nobody, so the parent goes on from here.
    started_ = true;
    if (remaining_ == 0) return std::exchange(parent_, nullptr);
    return std::noop_coroutine();
  }
  auto await_resume() {
    if (error_) std::rethrow_exception(error_);
    return Raced<A, B>{winner_, take(a_out_), take(b_out_)};
  }

private:
  template <std::size_t I> auto storer() {
    auto won = [this] {
      if (winner_ == kNone) {
        winner_ = I;
        source_.request_stop();
      }
    };
    using T = std::conditional_t<I == 0, A, B>;
    if constexpr (std::is_void_v<T>) {
      return [this, won] {
        std::get<I>(std::tie(a_out_, b_out_)) = true;
        won();
      };
    } else {
      return [this, won](T&& v) {
        std::get<I>(std::tie(a_out_, b_out_)).emplace(std::move(v));
        won();
      };
    }
  }
  auto failer() {
    return [this](const std::exception_ptr& e) {
      if (!error_) error_ = e;
      source_.request_stop();
    };
  }
  template <class S> static auto take(S& s) {
    if constexpr (std::is_same_v<S, bool>)
      return s;
    else
      return std::move(*s);
  }
  std::coroutine_handle<> child_done() noexcept override {
    // Before await_suspend returned, the starter itself resumes the parent.
    if (--remaining_ == 0 && parent_ && started_) return std::exchange(parent_, nullptr);
    return std::noop_coroutine();
  }

  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  Task<A> a_;
  Task<B> b_;
  StopSource source_;
  std::coroutine_handle<> parent_;
  std::size_t remaining_ = 0;
  std::size_t winner_ = kNone;
  bool started_ = false;
  Slot<A> a_out_{};
  Slot<B> b_out_{};
  std::exception_ptr error_;
};

} // namespace detail

// Runs `a` and `b`; the first to end wins and the other is stopped. Returns
// once both have ended, with both outcomes.
template <class A, class B> auto race(Task<A> a, Task<B> b) {
  return detail::RaceAwaiter<A, B>(std::move(a), std::move(b));
}

template <class T> struct Timed {
  T value;
  bool timed_out;
};

// Runs `t` with a deadline. On time-out `t` is stopped and its own outcome
// is still returned (ECANCELED, or what it finished with despite the stop).
template <class T> Task<Timed<T>> with_timeout(Task<T> t, std::chrono::nanoseconds d) {
  auto timer = [](std::chrono::nanoseconds d) -> Task<Result<void>> {
    co_return co_await sleep_for(d);
  };
  auto r = co_await race(std::move(t), timer(d));
  co_return Timed<T>{std::move(r.first), r.winner == 1};
}

} // namespace aio
