// Trap 5: a buffer handed to the kernel lives until the operation's last CQE,
// even when its task was cancelled; and the pool keeps memory bounded.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <memory>

TEST_CASE("a cancelled read's buffer is not written after its task ends; no byte is lost") {
  test::ConnectedFifo fifo;
  auto& rd = fifo.rd;
  auto& wr = fifo.wr;
  auto rt = test::make_runtime();
  std::string claimed;
  for (int round = 0; round < 200; ++round) {
    rt->block_on([&]() -> aio::Task<void> {
      aio::Scope scope(co_await aio::stop_token());
      scope.spawn([](int fd, std::string& out) -> aio::Task<void> {
        // Heap buffer freed when this task ends: a kernel write after that
        // would be a use-after-free (and ASan's heap would be corrupted).
        auto buf = std::make_unique<std::array<std::byte, 16>>();
        auto r = co_await aio::read(fd, *buf);
        if (r.ok()) out.append(reinterpret_cast<char*>(buf->data()), *r);
      }(rd.get(), claimed));
      (void)co_await aio::nop();
      scope.request_stop();
      // Data arrives after the stop was requested, before the cancel ran.
      REQUIRE(::write(wr.get(), "0123456789", 10) == 10);
      co_await scope.join();
    }());
  }
  std::string left;
  char buf[4096];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;)
    left.append(buf, size_t(n));
  std::string all = claimed + left;
  REQUIRE(all.size() == 2000);
  for (size_t i = 0; i < all.size(); i += 10)
    CHECK(all.compare(i, 10, "0123456789") == 0);
}

TEST_CASE("buffer pool lends at most its capacity and hands returns to waiters in order") {
  auto rt = test::make_runtime();
  aio::BufferPool pool(1000, 2);
  CHECK(pool.buffer_size() == 4096);
  std::vector<int> order;
  rt->block_on([&]() -> aio::Task<void> {
    auto a = pool.try_acquire();
    auto b = pool.try_acquire();
    REQUIRE(a);
    REQUIRE(b);
    CHECK_FALSE(pool.try_acquire());
    aio::Scope scope(co_await aio::stop_token());
    for (int i = 0; i < 2; ++i)
      scope.spawn([](aio::BufferPool& p, std::vector<int>& o, int id) -> aio::Task<void> {
        auto l = co_await p.acquire();
        REQUIRE(l.ok());
        o.push_back(id);
        (void)co_await aio::nop();
      }(pool, order, i));
    CHECK(order.empty());
    a.reset();
    b.reset();
    co_await scope.join();
  }());
  CHECK(order == std::vector<int>{0, 1});
  CHECK(pool.available() == 2);
}

TEST_CASE("a stopped wait for a buffer ends with ECANCELED") {
  auto rt = test::make_runtime();
  aio::BufferPool pool(4096, 1);
  bool cancelled = false;
  rt->block_on([&]() -> aio::Task<void> {
    auto held = pool.try_acquire();
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](aio::BufferPool& p, bool& c) -> aio::Task<void> {
      c = (co_await p.acquire()).cancelled();
    }(pool, cancelled));
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(cancelled);
  CHECK(pool.available() == 1);
}
