// However many operations wait (thousands of FIFO reads that never end), a
// timer, a signal's read and any new operation go to the kernel in the same
// turn of the loop: nothing queues in user space behind long waits.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace {

// A FIFO opened read-write: reads on it wait for ever, as on a FIFO whose
// writer never writes, and the open itself never blocks.
struct Fifo {
  test::TempDir dir;
  aio::UniqueFd fd;
  Fifo() : fd(::open(dir.fifo("f").c_str(), O_RDWR | O_CLOEXEC)) { REQUIRE(fd.get() >= 0); }
};

// Spawns `n` reads of `fd` into `scope`; each counts itself when cancelled.
void park_reads(aio::Scope& scope, int fd, int n, int& cancelled) {
  for (int i = 0; i < n; ++i)
    scope.spawn([](int fd, int& c) -> aio::Task<void> {
      std::array<std::byte, 8> buf{};
      c += (co_await aio::read(fd, buf)).cancelled() ? 1 : 0;
    }(fd, cancelled));
}

constexpr int kParked = 10'000;
using Clock = std::chrono::steady_clock;

} // namespace

TEST_CASE("a nop is answered with 10,000 FIFO reads pending") {
  Fifo fifo;
  auto rt = test::make_runtime();
  int cancelled = 0;
  unsigned inflight_at_nop = 0;
  bool nop_ok = false;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    park_reads(scope, fifo.fd.get(), kParked, cancelled);
    nop_ok = (co_await aio::nop()).ok();
    inflight_at_nop = rt->inflight();
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(nop_ok);
  // Every read was in the kernel, none waiting for room in user space.
  CHECK(inflight_at_nop == kParked);
  CHECK(rt->stats().queued == 0);
  CHECK(cancelled == kParked);
  CHECK(rt->inflight() == 0);
}

TEST_CASE("a 20 ms timeout fires with 10,000 FIFO reads pending") {
  Fifo fifo;
  auto rt = test::make_runtime();
  int cancelled = 0;
  bool timed_out = false;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    park_reads(scope, fifo.fd.get(), kParked, cancelled);
    auto r = co_await aio::with_timeout(
        [](int fd) -> aio::Task<aio::Result<std::size_t>> {
          std::array<std::byte, 8> buf{};
          co_return co_await aio::read(fd, buf);
        }(fifo.fd.get()),
        std::chrono::milliseconds(20));
    timed_out = r.timed_out;
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(timed_out);
  CHECK(cancelled == kParked);
  CHECK(rt->inflight() == 0);
}

TEST_CASE("1,000 tasks' 2 ms timeouts over FIFO reads all go out at once and all fire") {
  Fifo fifo;
  auto rt = test::make_runtime();
  constexpr int kTasks = 1000;
  int fired = 0;
  std::vector<double> late_ms;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    // Lateness counts from when the timer was due, or from when the loop
    // was free to run again: until the last task is spawned, nothing runs.
    Clock::time_point spawned{};
    for (int i = 0; i < kTasks; ++i)
      scope.spawn([](int fd, int& fired, std::vector<double>& late,
                     const Clock::time_point& spawned) -> aio::Task<void> {
        const auto due = Clock::now() + std::chrono::milliseconds(2);
        auto r = co_await aio::with_timeout(
            [](int fd) -> aio::Task<aio::Result<std::size_t>> {
              std::array<std::byte, 8> buf{};
              co_return co_await aio::read(fd, buf);
            }(fd),
            std::chrono::milliseconds(2));
        late.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - std::max(due, spawned))
                .count());
        fired += r.timed_out ? 1 : 0;
      }(fifo.fd.get(), fired, late_ms, spawned));
    spawned = Clock::now();
    co_await scope.join();
  }());
  CHECK(fired == kTasks);
  // No read or timer waited in user space for another to end.
  CHECK(rt->stats().queued == 0);
  std::sort(late_ms.begin(), late_ms.end());
  MESSAGE("2 ms timeouts, lateness p50 " << late_ms[late_ms.size() / 2] << " ms, max "
                                         << late_ms.back() << " ms");
}
