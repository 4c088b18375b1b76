// FIFOs: no thread, no false EOF before the first writer, and following
// across writers without spinning.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <cstring>

using namespace std::chrono_literals;

namespace {
std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
} // namespace

TEST_CASE("a FIFO opened before any writer waits instead of reporting EOF") {
  test::TempDir dir;
  auto path = dir.fifo("f");
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  auto r = rt->block_on([&]() -> aio::Task<aio::Timed<aio::Result<std::size_t>>> {
    auto reader = co_await aio::FifoReader::open(path, false);
    REQUIRE(reader.ok());
    std::array<std::byte, 8> buf{};
    co_return co_await aio::with_timeout(reader->read(buf), 20ms);
  }());
  CHECK(r.timed_out);
  CHECK(r.value.cancelled()); // not a 0-byte "EOF"
  CHECK(test::thread_count() == 1);
}

TEST_CASE("a FIFO reader sees the data of a writer that came and left, then EOF") {
  test::TempDir dir;
  auto path = dir.fifo("f");
  auto rt = test::make_runtime();
  std::string got;
  rt->block_on([&]() -> aio::Task<void> {
    auto reader = co_await aio::FifoReader::open(path, false);
    REQUIRE(reader.ok());
    {
      aio::UniqueFd w(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      REQUIRE(::write(w.get(), "abc", 3) == 3);
    }
    std::array<std::byte, 8> buf{};
    for (;;) {
      auto r = co_await reader->read(buf);
      REQUIRE(r.ok());
      if (*r == 0) break;
      got += as_string(std::span(buf).first(*r));
    }
  }());
  CHECK(got == "abc");
}

TEST_CASE("following a FIFO reads across writers coming and going, without spinning") {
  test::TempDir dir;
  auto path = dir.fifo("f");
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  std::string got;
  std::uint64_t idle_submissions = 0;
  std::size_t disconnects = 0;
  rt->block_on([&]() -> aio::Task<void> {
    auto reader = co_await aio::FifoReader::open(path, true);
    REQUIRE(reader.ok());
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](aio::FifoReader& rd, std::string& out) -> aio::Task<void> {
      std::array<std::byte, 64> buf{};
      for (;;) {
        auto r = co_await rd.read(buf);
        if (!r) co_return; // stopped
        out += as_string(std::span(buf).first(*r));
      }
    }(*reader, got));
    for (const char* chunk : {"one ", "two ", "three"}) {
      auto w = co_await aio::open_fifo_write(path);
      REQUIRE(w.ok());
      REQUIRE(::write(w->get(), chunk, strlen(chunk)) == ssize_t(strlen(chunk)));
      w->reset(); // the writer leaves
      (void)co_await aio::sleep_for(2ms);
    }
    // Idle with no writer: a spinning reader would submit again and again.
    auto before = aio::Runtime::current()->stats().submitted;
    (void)co_await aio::sleep_for(50ms);
    idle_submissions = aio::Runtime::current()->stats().submitted - before - 1;
    disconnects = reader->disconnects();
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(got == "one two three");
  CHECK(idle_submissions == 0);
  CHECK(disconnects == 3);
  CHECK(test::thread_count() == 1);
}

TEST_CASE("open_fifo_write waits for a reader without blocking the thread") {
  test::TempDir dir;
  auto path = dir.fifo("f");
  auto rt = test::make_runtime();
  auto r = rt->block_on([&]() -> aio::Task<aio::Timed<aio::Result<aio::UniqueFd>>> {
    co_return co_await aio::with_timeout(aio::open_fifo_write(path, 1ms), 20ms);
  }());
  CHECK(r.timed_out);
  CHECK(r.value.cancelled());
}

TEST_CASE("open_fifo_write waiting long for a reader backs off to a few wake-ups a second") {
  test::TempDir dir;
  auto path = dir.fifo("f");
  auto rt = test::make_runtime();
  std::uint64_t submitted = 0;
  auto r = rt->block_on([&]() -> aio::Task<aio::Timed<aio::Result<aio::UniqueFd>>> {
    auto before = aio::Runtime::current()->stats().submitted;
    auto t = co_await aio::with_timeout(aio::open_fifo_write(path), 1s);
    submitted = aio::Runtime::current()->stats().submitted - before;
    co_return t;
  }());
  CHECK(r.timed_out);
  // An open and a sleep per try: 5 ms apart throughout would be ~400.
  CHECK(submitted < 60);
  CHECK(submitted > 4);
}

TEST_CASE("readers in a vector that grows while a read is pending still read their FIFO") {
  test::TempDir dir;
  auto path = dir.fifo("f");
  auto rt = test::make_runtime();
  std::string got;
  std::size_t disconnects = 0;
  rt->block_on([&]() -> aio::Task<void> {
    std::vector<aio::FifoReader> readers;
    auto first = co_await aio::FifoReader::open(path, true);
    REQUIRE(first.ok());
    readers.push_back(std::move(*first));
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](std::vector<aio::FifoReader>& rs, std::string& out) -> aio::Task<void> {
      std::array<std::byte, 16> buf{};
      // The reader is read through the vector's first slot, which moves below.
      auto r = co_await rs[0].read(buf);
      if (r) out = as_string(std::span(buf).first(*r));
    }(readers, got));
    // Grow the vector under the pending read: every reader moves.
    for (int i = 0; i < 64; ++i) {
      auto more = co_await aio::FifoReader::open(path, false);
      REQUIRE(more.ok());
      readers.push_back(std::move(*more));
    }
    {
      aio::UniqueFd w(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      REQUIRE(::write(w.get(), "moved", 5) == 5);
    }
    co_await scope.join();
    disconnects = readers[0].disconnects();
  }());
  CHECK(got == "moved");
  CHECK(disconnects == 0);
}
