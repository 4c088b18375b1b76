// Coroutine frames come from a per-thread cache of freed frames, sorted by
// size, instead of malloc. Every awaited Task allocates one frame and frees
// it when it ends, so acat -f allocated and freed four or five frames per
// followed line: malloc and free ran ~600 instructions on cold code and
// metadata after each wake-up, most of the runtime's own cost per line.
// Under AddressSanitizer the cache is off, so frames keep their
// use-after-free and leak checks.
#pragma once

#include <cstddef>

namespace aio::detail {

void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

// For tests: whether frames are cached in this build, and how many this
// thread's cache holds now.
bool frame_cache_enabled() noexcept;
std::size_t frame_cache_size() noexcept;

} // namespace aio::detail
