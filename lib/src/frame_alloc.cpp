#include "aio/frame_alloc.hpp"

#include "aio/hot.hpp"

#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define AIO_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIO_FRAME_CACHE 0
#endif
#endif
#ifndef AIO_FRAME_CACHE
#define AIO_FRAME_CACHE 1
#endif

namespace aio::detail {
namespace {

// Frames are sorted into 64-byte classes up to 2 KiB; larger ones (rare:
// a coroutine with a big local array) go straight to operator new.
constexpr std::size_t kGrain = 64;
constexpr std::size_t kClasses = 32;
// Bounds what a burst of concurrent tasks can leave cached per class.
constexpr unsigned kKeep = 64;

struct FreeFrame {
  FreeFrame* next;
};

struct Cache {
  FreeFrame* head[kClasses] = {};
  unsigned count[kClasses] = {};
  Cache() = default;
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
  ~Cache() {
    for (auto* h : head)
      while (h != nullptr) {
        FreeFrame* next = h->next;
        ::operator delete(h);
        h = next;
      }
  }
};

thread_local Cache t_cache;

std::size_t class_of(std::size_t size) noexcept { return (size + kGrain - 1) / kGrain; }

} // namespace

AIO_HOT void* frame_alloc(std::size_t size) {
  std::size_t c = class_of(size);
  if (AIO_FRAME_CACHE && c < kClasses) {
    Cache& k = t_cache;
    if (FreeFrame* f = k.head[c]; f != nullptr) {
      k.head[c] = f->next;
      --k.count[c];
      return f;
    }
    // Allocate the whole class so any frame of the class can reuse it.
    std::size_t whole = c * kGrain;
    return ::operator new(whole);
  }
  return ::operator new(size);
}

AIO_HOT void frame_free(void* p, std::size_t size) noexcept {
  std::size_t c = class_of(size);
  if (AIO_FRAME_CACHE && c < kClasses) {
    Cache& k = t_cache;
    if (k.count[c] < kKeep) {
      k.head[c] = new (p) FreeFrame{k.head[c]};
      ++k.count[c];
      return;
    }
  }
  ::operator delete(p);
}

bool frame_cache_enabled() noexcept { return AIO_FRAME_CACHE != 0; }

std::size_t frame_cache_size() noexcept {
  std::size_t n = 0;
  for (unsigned c : t_cache.count)
    n += c;
  return n;
}

} // namespace aio::detail
