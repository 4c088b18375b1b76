// Task<T>: a lazy coroutine. Awaiting it starts it with the awaiter's stop
// token, so cancellation flows down the call tree without being passed by hand.
#pragma once

#include "aio/frame_alloc.hpp"
#include "aio/hot.hpp"
#include "aio/stop.hpp"

#include <coroutine>
#include <cstdio>
#include <exception>
#include <optional>
#include <utility>

namespace aio {

template <class T = void> class Task;

namespace detail {

// Every promise in the runtime exposes the stop token of the work it belongs
// to; awaitables read it in await_suspend.
struct PromiseBase {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  StopToken token;
  std::exception_ptr exception;
  bool started = false;

  static void* operator new(std::size_t size) { return frame_alloc(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

  StopToken stop_token() const noexcept { return token; }
  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P> std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      return h.promise().continuation;
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <class T> struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <class U> void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
  AIO_HOT T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(*value);
  }
};

template <> struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  AIO_HOT void take() {
    if (exception) std::rethrow_exception(exception);
  }
};

} // namespace detail

template <class T> class [[nodiscard]] Task {
public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle h) : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }
  bool done() const noexcept { return h_ && h_.done(); }

  struct Awaiter {
    Handle h;
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
      h.promise().token = parent.promise().stop_token();
      h.promise().continuation = parent;
      h.promise().started = true;
      return h;
    }
    T await_resume() { return h.promise().take(); }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }

  // For the runtime's root and for runners: start with an explicit token.
  Handle handle() const noexcept { return h_; }

private:
  AIO_HOT void reset() noexcept {
    if (h_) {
      // A started task suspended in an operation owns memory the kernel may
      // still write: destroying it would be a use-after-free. Structured code
      // (await it, or spawn it in a Scope) never gets here.
      if (h_.promise().started && !h_.done()) {
        std::fputs("aio: Task destroyed while running\n", stderr);
        std::terminate();
      }
      h_.destroy();
    }
    h_ = {};
  }
  Handle h_;
};

namespace detail {
template <class T> Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
} // namespace detail

// `co_await aio::stop_token()` gives the current task's token, e.g. to link
// a Scope to it.
struct CurrentStopToken {
  StopToken token;
  bool await_ready() noexcept { return false; }
  template <class P> bool await_suspend(std::coroutine_handle<P> h) noexcept {
    token = h.promise().stop_token();
    return false;
  }
  StopToken await_resume() noexcept { return token; }
};
inline CurrentStopToken stop_token() noexcept { return {}; }

} // namespace aio
