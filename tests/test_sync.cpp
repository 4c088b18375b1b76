// Event and Mutex: wake-ups, FIFO hand-off, and waits ended by a stop.
#include "support.hpp"

#include "aio/sync.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace std::chrono_literals;

TEST_CASE("an event wakes every waiter, and a set event does not wait") {
  auto rt = test::make_runtime();
  rt->block_on([]() -> aio::Task<void> {
    aio::Event ev;
    int woken = 0;
    aio::Scope scope(co_await aio::stop_token());
    for (int i = 0; i < 3; ++i)
      scope.spawn([](aio::Event& e, int& n) -> aio::Task<void> {
        if ((co_await e.wait()).ok()) ++n;
      }(ev, woken));
    CHECK(woken == 0);
    CHECK((co_await aio::nop()).ok()); // let the waiters park
    ev.set();
    co_await scope.join();
    CHECK(woken == 3);
    CHECK((co_await ev.wait()).ok());
  }());
}

TEST_CASE("a stop ends an event wait with ECANCELED and leaves no waiter behind") {
  auto rt = test::make_runtime();
  rt->block_on([]() -> aio::Task<void> {
    aio::Event ev;
    aio::Result<void> got;
    {
      aio::Scope scope(co_await aio::stop_token());
      scope.spawn([](aio::Event& e, aio::Result<void>& out) -> aio::Task<void> {
        out = co_await e.wait();
      }(ev, got));
      scope.request_stop();
      co_await scope.join();
    }
    CHECK(got.cancelled());
    ev.set(); // nobody left to wake: must not touch the gone waiter
  }());
}

TEST_CASE("the mutex serves waiters in order and a stopped waiter leaves the queue") {
  auto rt = test::make_runtime();
  rt->block_on([]() -> aio::Task<void> {
    aio::Mutex mu;
    std::vector<int> order;
    auto g = co_await mu.lock();
    REQUIRE(g.ok());
    aio::Scope scope(co_await aio::stop_token());
    aio::Scope doomed(co_await aio::stop_token());
    auto worker = [](aio::Mutex& m, std::vector<int>& o, int id) -> aio::Task<void> {
      auto lk = co_await m.lock();
      if (!lk) co_return;
      o.push_back(id);
      (void)co_await aio::sleep_for(1ms); // hold it across a real wait
    };
    scope.spawn(worker(mu, order, 1));
    doomed.spawn(worker(mu, order, 99));
    scope.spawn(worker(mu, order, 2));
    doomed.request_stop();
    co_await doomed.join();
    g->unlock();
    co_await scope.join();
    CHECK(order == std::vector<int>{1, 2});
    CHECK_FALSE(mu.locked());
  }());
}
