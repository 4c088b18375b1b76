// Result<T>: a value or a std::error_code, and the one place where a raw
// io_uring completion value is turned into either.
#pragma once

#include <cerrno>
#include <cstddef>
#include <system_error>
#include <utility>
#include <variant>

namespace aio {

inline std::error_code errno_code(int e) { return {e, std::system_category()}; }

template <class T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::move(value)) {} // NOLINT(google-explicit-constructor)
  Result(std::error_code ec) : v_(ec) {}    // NOLINT(google-explicit-constructor)
  static Result failure(int e) { return Result(errno_code(e)); }

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  std::error_code error() const noexcept { return ok() ? std::error_code{} : std::get<1>(v_); }
  bool cancelled() const noexcept { return error() == std::errc::operation_canceled; }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, std::error_code> v_;
};

template <> class [[nodiscard]] Result<void> {
public:
  // Success holds no error_code: std::error_code's default constructor
  // calls into libstdc++ (system_category), a cold page on every path that
  // returns success.
  Result() = default;
  Result(std::error_code ec) : code_(ec.value()), cat_(&ec.category()) {} // NOLINT
  static Result failure(int e) { return Result(errno_code(e)); }
  bool ok() const noexcept { return code_ == 0; }
  explicit operator bool() const noexcept { return ok(); }
  std::error_code error() const noexcept {
    return ok() ? std::error_code{} : std::error_code(code_, *cat_);
  }
  bool cancelled() const noexcept { return !ok() && error() == std::errc::operation_canceled; }

private:
  int code_ = 0;
  const std::error_category* cat_ = nullptr;
};

// The kernel's ERESTARTSYS leaks out of io-wq when a worker blocked in a
// syscall is interrupted by a cancel; it is not in userspace headers.
inline constexpr int kErestartsys = 512;

// The single interpretation of cqe->res: >= 0 is a count, a cancel or an
// interrupted worker is "cancelled", anything else is the errno it carries.
inline Result<std::size_t> interpret(int res) noexcept {
  if (res >= 0) return static_cast<std::size_t>(res);
  if (res == -ECANCELED || res == -EINTR || res == -kErestartsys) return errno_code(ECANCELED);
  return errno_code(-res);
}

// The interpretation of a close's cqe->res. Linux frees the descriptor
// whatever close returns, -EINTR and -ERESTARTSYS too (a flush on NFS or
// FUSE interrupted): those are success, and a close is never retried, or
// it could close a number someone else has been given since. Only
// -ECANCELED (cancelled before it ran) means the fd is still open.
inline Result<void> interpret_close(int res) noexcept {
  if (res >= 0 || res == -EINTR || res == -kErestartsys) return {};
  return errno_code(-res);
}

} // namespace aio
