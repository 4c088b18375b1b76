// Structured concurrency: scopes end after their children, races cancel and
// await their losers, and every outcome is handed back.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <stdexcept>

using namespace std::chrono_literals;

TEST_CASE("join waits for every child, including ones that end later") {
  auto rt = test::make_runtime();
  std::vector<int> ended;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    for (int i = 3; i > 0; --i)
      scope.spawn([](int ms, std::vector<int>& e) -> aio::Task<void> {
        (void)co_await aio::sleep_for(std::chrono::milliseconds(ms));
        e.push_back(ms);
      }(i, ended));
    CHECK(scope.active() == 3);
    co_await scope.join();
    CHECK(scope.active() == 0);
  }());
  CHECK(ended == std::vector<int>{1, 2, 3});
}

TEST_CASE("a child's exception stops its siblings and is rethrown by join") {
  auto rt = test::make_runtime();
  bool sibling_cancelled = false;
  bool caught = false;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](bool& c) -> aio::Task<void> {
      c = (co_await aio::sleep_for(10s)).cancelled();
    }(sibling_cancelled));
    scope.spawn([]() -> aio::Task<void> {
      (void)co_await aio::nop();
      throw std::runtime_error("boom");
    }());
    try {
      co_await scope.join();
    } catch (const std::runtime_error&) {
      caught = true;
    }
  }());
  CHECK(caught);
  CHECK(sibling_cancelled);
}

TEST_CASE("stopping a parent scope cancels a nested scope's children") {
  auto rt = test::make_runtime();
  int cancelled = 0;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope outer(co_await aio::stop_token());
    outer.spawn([](int& c) -> aio::Task<void> {
      aio::Scope inner(co_await aio::stop_token());
      for (int i = 0; i < 4; ++i)
        inner.spawn([](int& c2) -> aio::Task<void> {
          c2 += (co_await aio::sleep_for(10s)).cancelled() ? 1 : 0;
        }(c));
      co_await inner.join();
    }(cancelled));
    (void)co_await aio::nop();
    outer.request_stop();
    co_await outer.join();
  }());
  CHECK(cancelled == 4);
}

TEST_CASE("race: the first to end wins, the loser is cancelled and awaited") {
  auto rt = test::make_runtime();
  auto r = rt->block_on([]() -> aio::Task<aio::Raced<aio::Result<void>, int>> {
    auto slow = []() -> aio::Task<aio::Result<void>> { co_return co_await aio::sleep_for(10s); };
    auto fast = []() -> aio::Task<int> {
      (void)co_await aio::sleep_for(1ms);
      co_return 7;
    };
    co_return co_await aio::race(slow(), fast());
  }());
  CHECK(r.winner == 1);
  CHECK(r.second == 7);
  CHECK(r.first.cancelled());
  CHECK(rt->inflight() == 0);
}

TEST_CASE("race where both finish at once returns both outcomes") {
  auto rt = test::make_runtime();
  auto r = rt->block_on([]() -> aio::Task<aio::Raced<int, int>> {
    auto now = [](int v) -> aio::Task<int> { co_return v; };
    co_return co_await aio::race(now(1), now(2));
  }());
  CHECK(r.winner == 0);
  CHECK(r.first == 1);
  CHECK(r.second == 2);
}

TEST_CASE("with_timeout cancels a read that never gets data and reports the time-out") {
  test::ConnectedFifo fifo;
  auto& rd = fifo.rd;
  auto rt = test::make_runtime();
  auto r = rt->block_on([&]() -> aio::Task<aio::Timed<aio::Result<std::size_t>>> {
    auto rd_task = [](int fd) -> aio::Task<aio::Result<std::size_t>> {
      std::array<std::byte, 8> buf{};
      co_return co_await aio::read(fd, buf);
    };
    co_return co_await aio::with_timeout(rd_task(rd.get()), 2ms);
  }());
  CHECK(r.timed_out);
  CHECK(r.value.cancelled());
}

TEST_CASE("stop callbacks run once and not after detach") {
  aio::StopSource src;
  int runs = 0;
  aio::StopCallback a, b;
  a.attach(
      &src, [](void* p) noexcept { ++*static_cast<int*>(p); }, &runs);
  b.attach(
      &src, [](void* p) noexcept { *static_cast<int*>(p) += 100; }, &runs);
  b.detach();
  src.request_stop();
  src.request_stop();
  CHECK(runs == 1);
  aio::StopCallback late;
  late.attach(
      &src, [](void* p) noexcept { ++*static_cast<int*>(p); }, &runs);
  CHECK(runs == 2); // attaching to a stopped source runs at once
}

TEST_CASE("an exception between spawn and join stops the children, waits for them and propagates") {
  test::ConnectedFifo f;
  auto rt = test::make_runtime();
  int cancelled = 0;
  bool caught = false;
  try {
    rt->block_on([&]() -> aio::Task<void> {
      std::array<std::byte, 8> buf{}; // the child reads into the owner's frame
      aio::Scope scope(co_await aio::stop_token());
      scope.spawn([](int fd, std::span<std::byte> b, int& c) -> aio::Task<void> {
        c += (co_await aio::read(fd, b)).cancelled() ? 1 : 0;
      }(f.rd.get(), buf, cancelled));
      (void)co_await aio::nop();
      throw std::runtime_error("owner failed");
    }());
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "owner failed";
  }
  CHECK(caught);
  CHECK(cancelled == 1);
  CHECK(rt->inflight() == 0);
}
