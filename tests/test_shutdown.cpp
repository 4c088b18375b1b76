// "Never destroy the ring with work in flight": shutdown cancels and drains.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

TEST_CASE("destroying the runtime with a read in flight cancels it and waits for its CQE") {
  test::ConnectedFifo fifo;
  auto& rd = fifo.rd;
  int calls = 0, result = 0;
  {
    test::RecordingRead op(rd.get(), calls, result);
    auto rt = test::make_runtime();
    REQUIRE(rt->start(op, rt->root_token()));
    if (rt->backend() == aio::BackendKind::Uring) io_uring_submit(rt->ring().get());
    CHECK(rt->inflight() == 1);
    rt.reset(); // must not return before the kernel let go of op's buffer
    CHECK(calls == 1);
    CHECK(aio::interpret(result).cancelled());
  }
  CHECK(calls == 1); // nothing completes after the ring is gone
  CHECK(test::settled_thread_count() == 1);
}

TEST_CASE("block_on drains: a stop of the root cancels everything and returns") {
  test::ConnectedFifo fifo;
  auto& rd = fifo.rd;
  auto rt = test::make_runtime();
  int cancelled = 0;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    for (int i = 0; i < 50; ++i)
      scope.spawn([](int fd, int& c) -> aio::Task<void> {
        std::array<std::byte, 8> buf{};
        c += (co_await aio::read(fd, buf)).cancelled() ? 1 : 0;
      }(rd.get(), cancelled));
    (void)co_await aio::sleep_for(std::chrono::milliseconds(1));
    aio::Runtime::current()->request_stop();
    co_await scope.join();
  }());
  CHECK(cancelled == 50);
  CHECK(rt->inflight() == 0);
  // The runtime is usable again after a stopped block_on.
  auto r = rt->block_on(
      []() -> aio::Task<aio::Result<std::size_t>> { co_return co_await aio::nop(); }());
  CHECK(r.ok());
}

TEST_CASE("block_on returns with a read in flight that no stop token reaches") {
  // Started with StopToken(): the root's stop cannot cancel it; the drain's
  // cancel-everything does, so block_on returns and the read ends once.
  test::ConnectedFifo f;
  auto rt = test::make_runtime();
  int calls = 0;
  int result = 0;
  test::RecordingRead op(f.rd.get(), calls, result);
  rt->block_on([&]() -> aio::Task<void> {
    REQUIRE(rt->start(op, aio::StopToken()));
    (void)co_await aio::nop();
  }());
  CHECK(calls == 1);
  CHECK(result == -ECANCELED);
  CHECK(rt->inflight() == 0);
}
