// Structured concurrency: a Scope runs child tasks and cannot end before all
// of them have ended. Stopping the scope (or its parent) cancels them all.
#pragma once

#include "aio/stop.hpp"
#include "aio/task.hpp"

#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <utility>

namespace aio {
namespace detail {

// Whoever owns child runners and wants to hear when each ends. Returns the
// coroutine to continue with (the joiner, or noop).
struct ChildSink {
  virtual std::coroutine_handle<> child_done() noexcept = 0;

protected:
  ~ChildSink() = default;
};

// A started-at-once coroutine that runs one child task under a given token,
// reports to its sink and frees itself.
struct RunnerPromise;
struct Runner {
  using promise_type = RunnerPromise;
  std::coroutine_handle<RunnerPromise> handle;
};

struct RunnerPromise {
  StopToken token;
  ChildSink* sink = nullptr;
  StopToken stop_token() const noexcept { return token; }
  Runner get_return_object() noexcept {
    return {std::coroutine_handle<RunnerPromise>::from_promise(*this)};
  }
  std::suspend_always initial_suspend() noexcept { return {}; }
  struct Final {
    bool await_ready() noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<RunnerPromise> h) noexcept {
      ChildSink* s = h.promise().sink;
      h.destroy();
      return s->child_done();
    }
    void await_resume() noexcept {}
  };
  Final final_suspend() noexcept { return {}; }
  void return_void() noexcept {}
  void unhandled_exception() noexcept { std::terminate(); } // bodies catch everything
};

// Runs `t` and hands its outcome to `store(T&&)` or `fail(exception_ptr)`.
template <class T, class Store, class Fail> Runner run_child(Task<T> t, Store store, Fail fail) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(t);
      store();
    } else {
      store(co_await std::move(t));
    }
  } catch (...) {
    fail(std::current_exception());
  }
}

inline void start_runner(Runner r, StopToken token, ChildSink* sink) {
  r.handle.promise().token = token;
  r.handle.promise().sink = sink;
  r.handle.resume();
}

} // namespace detail

class Scope final : private detail::ChildSink {
public:
  // Links to `parent`: stopping the parent stops every child. There is no
  // default: a scope that ignored its caller's stop would keep SIGINT from
  // its children. Write `Scope s(co_await aio::stop_token());` (or pass
  // `StopToken()` to say, visibly, that nothing outside may stop it).
  explicit Scope(StopToken parent) { source_.link_to(parent); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  // Without join(): the owner is unwinding (an exception thrown between
  // spawn and join). Children may point into the owner's frame and the
  // kernel into theirs, so they are stopped and the loop is run here until
  // each has ended; then the unwinding goes on.
  ~Scope() {
    if (active_ != 0) wait_out();
  }

  // Starts `t` at once (it runs until its first suspension before spawn
  // returns). If it throws, the scope is stopped and join() rethrows.
  void spawn(Task<void> t) {
    ++active_;
    detail::start_runner(detail::run_child(
                             std::move(t), [] {},
                             [this](const std::exception_ptr& e) {
                               if (!error_) error_ = e;
                               source_.request_stop();
                             }),
                         source_.token(), this);
  }

  void request_stop() noexcept { source_.request_stop(); }
  StopToken token() noexcept { return source_.token(); }
  std::size_t active() const noexcept { return active_; }

  // Waits until every child has ended; rethrows the first child exception.
  auto join() noexcept {
    struct Awaiter {
      Scope* s;
      bool await_ready() noexcept { return s->active_ == 0; }
      void await_suspend(std::coroutine_handle<> h) noexcept { s->joiner_ = h; }
      void await_resume() {
        if (s->error_) std::rethrow_exception(std::exchange(s->error_, nullptr));
      }
    };
    return Awaiter{this};
  }

private:
  void wait_out() noexcept;
  std::coroutine_handle<> child_done() noexcept override {
    if (--active_ == 0 && joiner_) return std::exchange(joiner_, nullptr);
    return std::noop_coroutine();
  }

  StopSource source_;
  std::size_t active_ = 0;
  std::coroutine_handle<> joiner_;
  std::exception_ptr error_;
};

} // namespace aio
