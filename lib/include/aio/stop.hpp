// Single-threaded stop source/token/callback. The runtime is one thread per
// ring, so std::stop_source's atomics would buy nothing.
#pragma once

#include "aio/hot.hpp"

#include <utility>

namespace aio {

class StopSource;

// A registration that runs `fn(ctx)` once when its source is stopped. It is
// intrusive (no allocation) and unregisters itself on destruction.
class StopCallback {
public:
  using Fn = void (*)(void*) noexcept;
  StopCallback() = default;
  StopCallback(const StopCallback&) = delete;
  StopCallback& operator=(const StopCallback&) = delete;
  ~StopCallback() { detach(); }

  // Registers on `src` (may be null). Runs at once if `src` is already stopped.
  void attach(StopSource* src, Fn fn, void* ctx) noexcept;
  void detach() noexcept;

private:
  friend class StopSource;
  StopSource* src_ = nullptr;
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  StopCallback* prev_ = nullptr;
  StopCallback* next_ = nullptr;
};

class StopToken {
public:
  StopToken() = default;
  explicit StopToken(StopSource* s) : src_(s) {}
  bool stop_requested() const noexcept;
  bool stop_possible() const noexcept { return src_ != nullptr; }
  StopSource* source() const noexcept { return src_; }

private:
  StopSource* src_ = nullptr;
};

class StopSource {
public:
  StopSource() = default;
  StopSource(const StopSource&) = delete;
  StopSource& operator=(const StopSource&) = delete;
  ~StopSource() {
    while (head_ != nullptr)
      head_->detach();
    unlink_from_parent();
  }

  bool stop_requested() const noexcept { return stopped_; }
  StopToken token() noexcept { return StopToken(this); }

  // Runs every registered callback once; later calls do nothing.
  void request_stop() noexcept {
    if (stopped_) return;
    stopped_ = true;
    while (head_ != nullptr) {
      StopCallback* cb = head_;
      cb->detach();
      cb->fn_(cb->ctx_);
    }
  }

  // Makes this source stop when `parent` stops (structured cancellation).
  void link_to(StopToken parent) noexcept {
    parent_link_.attach(
        parent.source(),
        [](void* self) noexcept { static_cast<StopSource*>(self)->request_stop(); }, this);
  }

private:
  friend class StopCallback;
  void unlink_from_parent() noexcept { parent_link_.detach(); }
  bool stopped_ = false;
  StopCallback* head_ = nullptr;
  StopCallback parent_link_;
};

inline bool StopToken::stop_requested() const noexcept {
  return src_ != nullptr && src_->stop_requested();
}

AIO_HOT inline void StopCallback::attach(StopSource* src, Fn fn, void* ctx) noexcept {
  detach();
  if (src == nullptr) return;
  if (src->stopped_) {
    fn(ctx);
    return;
  }
  src_ = src;
  fn_ = fn;
  ctx_ = ctx;
  next_ = src->head_;
  if (next_ != nullptr) next_->prev_ = this;
  src->head_ = this;
}

AIO_HOT inline void StopCallback::detach() noexcept {
  if (src_ == nullptr) return;
  if (prev_ != nullptr)
    prev_->next_ = next_;
  else
    src_->head_ = next_;
  if (next_ != nullptr) next_->prev_ = prev_;
  src_ = nullptr;
  prev_ = next_ = nullptr;
}

} // namespace aio
