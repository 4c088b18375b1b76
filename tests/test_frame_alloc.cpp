// Coroutine frames are recycled through a per-thread cache (off under
// AddressSanitizer, which must see every free).
#include "support.hpp"

#include "aio/frame_alloc.hpp"

#include <doctest/doctest.h>

#include <array>
#include <thread>
#include <vector>

namespace {

aio::Task<int> small(int x) { co_return x + 1; }

aio::Task<int> large(int x) {
  std::array<char, 8192> scratch{};
  scratch[static_cast<std::size_t>(x)] = 7;
  (void)co_await aio::nop();
  co_return scratch[static_cast<std::size_t>(x)] + x;
}

} // namespace

TEST_CASE("a finished task's frame is reused by the next task of its size") {
  if (!aio::detail::frame_cache_enabled()) {
    MESSAGE("skipped: the frame cache is off in sanitizer builds");
    return;
  }
  void* first = nullptr;
  {
    auto t = small(1);
    first = t.handle().address();
  }
  std::size_t cached = aio::detail::frame_cache_size();
  CHECK(cached >= 1);
  auto again = small(2);
  CHECK(again.handle().address() == first);
  CHECK(aio::detail::frame_cache_size() == cached - 1);
}

TEST_CASE("the cache keeps at most 64 frames of a size after a burst") {
  if (!aio::detail::frame_cache_enabled()) {
    MESSAGE("skipped: the frame cache is off in sanitizer builds");
    return;
  }
  // A fresh thread starts with an empty cache.
  std::size_t before = 1, after = 0;
  std::thread([&] {
    before = aio::detail::frame_cache_size();
    {
      std::vector<aio::Task<int>> burst;
      for (int i = 0; i < 1000; ++i)
        burst.push_back(small(i));
    }
    after = aio::detail::frame_cache_size();
  }).join();
  CHECK(before == 0);
  CHECK(after == 64);
}

TEST_CASE("tasks with frames too large for the cache run and give their results") {
  auto rt = test::make_runtime();
  int sum = rt->block_on([]() -> aio::Task<int> {
    int s = 0;
    for (int i = 0; i < 3; ++i)
      s += co_await large(i) + co_await small(i);
    co_return s;
  }());
  // large(i) gives 7 + i, small(i) gives i + 1.
  CHECK(sum == (7 + 0 + 1) + (7 + 1 + 2) + (7 + 2 + 3));
}
