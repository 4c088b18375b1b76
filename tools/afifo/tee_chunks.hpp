// The bytes tee read, shared by every output without a copy: a chunk is
// read once and each output's queue holds references to it; it goes back
// to the pool when the last output has written it (and no write in flight
// still points into it: a writer holds its own reference while the kernel
// may read the chunk).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace afifo::tee_latest {

class ChunkPool;

struct Chunk {
  std::unique_ptr<std::byte[]> data;
  std::size_t len = 0; // bytes read into it
  unsigned refs = 0;
  ChunkPool* pool = nullptr;

  std::span<std::byte> room(std::size_t cap) noexcept { return {data.get(), cap}; }
  std::span<const std::byte> bytes() const noexcept { return {data.get(), len}; }
};

// One reference to a chunk (move-only when it matters, copyable for queues).
class ChunkRef {
public:
  ChunkRef() = default;
  explicit ChunkRef(Chunk* c) noexcept : c_(c) {
    if (c_ != nullptr) ++c_->refs;
  }
  ChunkRef(const ChunkRef& o) noexcept : ChunkRef(o.c_) {}
  ChunkRef(ChunkRef&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  ChunkRef& operator=(ChunkRef o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~ChunkRef() { reset(); }
  void reset() noexcept;
  Chunk* get() const noexcept { return c_; }
  Chunk* operator->() const noexcept { return c_; }
  explicit operator bool() const noexcept { return c_ != nullptr; }

private:
  Chunk* c_ = nullptr;
};

// Chunks of one capacity; freed ones are kept for reuse (a fresh 128 KiB
// allocation is an mmap and page faults on every read), up to a few.
class ChunkPool {
public:
  explicit ChunkPool(std::size_t capacity) : cap_(capacity) {}
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;
  ~ChunkPool() {
    for (Chunk* c : free_)
      delete c;
  }

  std::size_t capacity() const noexcept { return cap_; }
  // Chunks alive now (referenced), for tests and the memory bound.
  std::size_t live() const noexcept { return live_; }

  ChunkRef get() {
    Chunk* c = nullptr;
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    } else {
      c = new Chunk{std::make_unique<std::byte[]>(cap_), 0, 0, this};
    }
    c->len = 0;
    ++live_;
    return ChunkRef(c);
  }

private:
  friend class ChunkRef;
  static constexpr std::size_t kKeep = 16;
  void put(Chunk* c) noexcept {
    --live_;
    if (free_.size() < kKeep) {
      free_.push_back(c); // reserved in advance: no throw
      return;
    }
    delete c;
  }
  std::size_t cap_;
  std::size_t live_ = 0;
  std::vector<Chunk*> free_ = reserved();
  static std::vector<Chunk*> reserved() {
    std::vector<Chunk*> v;
    v.reserve(kKeep);
    return v;
  }
};

inline void ChunkRef::reset() noexcept {
  if (c_ != nullptr && --c_->refs == 0) c_->pool->put(c_);
  c_ = nullptr;
}

} // namespace afifo::tee_latest
