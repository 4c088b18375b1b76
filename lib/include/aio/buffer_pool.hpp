// A bounded pool of equal, page-aligned buffers. When all are lent out,
// acquire() waits (without blocking the thread) for one to come back, so a
// tool's memory stays bounded whatever its input.
#pragma once

#include "aio/result.hpp"
#include "aio/runtime.hpp"
#include "aio/stop.hpp"

#include <coroutine>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace aio {

class BufferPool {
public:
  class Lease {
  public:
    Lease() = default;
    Lease(Lease&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), index_(o.index_) {}
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        reset();
        pool_ = std::exchange(o.pool_, nullptr);
        index_ = o.index_;
      }
      return *this;
    }
    ~Lease() { reset(); }
    std::span<std::byte> span() const noexcept { return pool_->slot(index_); }
    explicit operator bool() const noexcept { return pool_ != nullptr; }
    void reset() noexcept {
      if (pool_ != nullptr) std::exchange(pool_, nullptr)->give_back(index_);
    }

  private:
    friend class BufferPool;
    Lease(BufferPool* p, std::size_t i) : pool_(p), index_(i) {}
    BufferPool* pool_ = nullptr;
    std::size_t index_ = 0;
  };

  BufferPool(std::size_t buffer_size, std::size_t count)
      : size_(round_up(buffer_size)), count_(count),
        mem_(static_cast<std::byte*>(std::aligned_alloc(kAlign, size_ * count)), &std::free) {
    for (std::size_t i = count; i > 0; --i)
      free_.push_back(i - 1);
  }

  std::size_t buffer_size() const noexcept { return size_; }
  std::size_t available() const noexcept { return free_.size(); }
  std::size_t capacity() const noexcept { return count_; }

  Lease try_acquire() {
    if (free_.empty()) return {};
    std::size_t i = free_.back();
    free_.pop_back();
    return {this, i};
  }

  // Waits for a free buffer; ECANCELED if the task is stopped first.
  class AcquireOp {
  public:
    explicit AcquireOp(BufferPool* pool) : pool_(pool) {}
    bool await_ready() {
      lease_ = pool_->try_acquire();
      return static_cast<bool>(lease_);
    }
    template <class P> bool await_suspend(std::coroutine_handle<P> h) {
      StopToken tok = h.promise().stop_token();
      if (tok.stop_requested()) {
        cancelled_ = true;
        return false;
      }
      h_ = h;
      pool_->waiters_.push_back(this);
      cb_.attach(tok.source(), &AcquireOp::on_stop, this);
      return true;
    }
    Result<Lease> await_resume() {
      cb_.detach();
      if (cancelled_) return errno_code(ECANCELED);
      return std::move(lease_);
    }

  private:
    friend class BufferPool;
    static void on_stop(void* p) noexcept {
      auto* self = static_cast<AcquireOp*>(p);
      std::erase(self->pool_->waiters_, self);
      self->cancelled_ = true;
      Runtime::current()->post(self->h_);
    }
    BufferPool* pool_;
    std::coroutine_handle<> h_;
    StopCallback cb_;
    Lease lease_;
    bool cancelled_ = false;
  };
  AcquireOp acquire() { return AcquireOp(this); }

private:
  static constexpr std::size_t kAlign = 4096;
  static std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
  std::span<std::byte> slot(std::size_t i) const noexcept {
    return {mem_.get() + i * size_, size_};
  }

  void give_back(std::size_t i) {
    if (!waiters_.empty()) {
      // Hand the buffer straight to the longest waiter (FIFO, no starvation).
      AcquireOp* w = waiters_.front();
      waiters_.erase(waiters_.begin());
      w->lease_ = Lease(this, i);
      w->cb_.detach();
      Runtime::current()->post(w->h_);
      return;
    }
    free_.push_back(i);
  }

  std::size_t size_;
  std::size_t count_;
  std::unique_ptr<std::byte, decltype(&std::free)> mem_;
  std::vector<std::size_t> free_;
  std::vector<AcquireOp*> waiters_;
};

} // namespace aio
