// Trap 1 and 2: a cancelled read is cancelled in the kernel, ends exactly
// once with its outcome, and leaves no thread, fd or memory behind.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <array>
#include <string>

using namespace std::chrono_literals;

namespace {

using Fifo = test::ConnectedFifo;

} // namespace

TEST_CASE("cancel storm: 10000 armed reads all end cancelled with one thread and no leak") {
  Fifo fifo;
  REQUIRE(fifo.rd.valid());
  REQUIRE(fifo.wr.valid());
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  // Warm up once so allocator and ring pages are in the baseline.
  const int fds_before = test::fd_count();
  long rss_before = 0;
  int cancelled = 0, other = 0, max_threads = 0;
  rt->block_on([&]() -> aio::Task<void> {
    for (int round = 0; round < 10000; ++round) {
      if (round == 100) rss_before = test::rss_kib();
      aio::Scope scope(co_await aio::stop_token());
      scope.spawn([](int fd, int& c, int& o) -> aio::Task<void> {
        std::array<std::byte, 64> buf{};
        auto r = co_await aio::read(fd, buf);
        (r.cancelled() ? c : o) += 1;
      }(fifo.rd.get(), cancelled, other));
      (void)co_await aio::nop(); // the read is now armed in the kernel
      scope.request_stop();
      co_await scope.join();
      if (round % 1000 == 0) max_threads = std::max(max_threads, test::thread_count());
    }
  }());
  CHECK(cancelled == 10000);
  CHECK(other == 0);
  CHECK(max_threads == 1);
  CHECK(test::thread_count() == 1);
  CHECK(test::fd_count() == fds_before);
  CHECK(rt->stats().cancels_sent == 10000);
  CHECK(rt->inflight() == 0);
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in quarantine, so RSS says nothing here; its leak
  // checker does the job at exit instead.
  MESSAGE("RSS check skipped under ASan (quarantine); LeakSanitizer checks leaks");
#else
  CHECK(test::rss_kib() - rss_before < 1024);
#endif
}

TEST_CASE("select loop: reads raced against a timer lose no byte and duplicate none") {
  Fifo fifo;
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  std::string written, received;
  int too_late = 0;
  rt->block_on([&]() -> aio::Task<void> {
    auto reader = aio::FifoReader::adopt(std::move(fifo.rd), "", false);
    REQUIRE(reader.ok());
    for (int round = 0; round < 10000; ++round) {
      std::string chunk = std::to_string(round) + ",";
      // Some rounds have data before the race, some get it during the
      // cancel (the timer task writes just as it wins), most get none.
      bool before = round % 5 == 0, during = round % 7 == 3;
      if (before) {
        REQUIRE(::write(fifo.wr.get(), chunk.data(), chunk.size()) == ssize_t(chunk.size()));
        written += chunk;
      }
      std::array<std::byte, 256> buf{};
      auto timer = [](int wr, std::string c, bool write_now, std::string& log) -> aio::Task<int> {
        (void)co_await aio::sleep_for(20us);
        if (write_now && ::write(wr, c.data(), c.size()) == ssize_t(c.size())) log += c;
        co_return 0;
      };
      auto r = co_await aio::race(reader->read(buf), timer(fifo.wr.get(), chunk, during, written));
      if (r.first.ok()) {
        received.append(reinterpret_cast<char*>(buf.data()), *r.first);
        if (r.winner == 1 && *r.first > 0) ++too_late;
      } else {
        REQUIRE(r.first.cancelled());
      }
    }
    // Whatever is left in the pipe was never claimed by a cancelled read.
    std::array<std::byte, 4096> buf{};
    for (;;) {
      ssize_t n = ::read(reader->fd(), buf.data(), buf.size());
      if (n <= 0) break;
      received.append(reinterpret_cast<char*>(buf.data()), size_t(n));
    }
  }());
  CHECK(received == written);
  CHECK(test::thread_count() == 1);
  MESSAGE("reads that completed with data after losing the race: " << too_late);
}

TEST_CASE("more reads than the CQ holds are all in the kernel at once and cancel cleanly") {
  Fifo fifo;
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime(8); // SQ 8, CQ 16
  unsigned peak = 0;
  int cancelled = 0;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    for (int i = 0; i < 100; ++i)
      scope.spawn([](int fd, int& c) -> aio::Task<void> {
        std::array<std::byte, 8> buf{};
        auto r = co_await aio::read(fd, buf);
        c += r.cancelled() ? 1 : 0;
      }(fifo.rd.get(), cancelled));
    // A nop behind 100 reads that never complete is still answered: nothing
    // waits in user space for CQ room (their cancels overflow the CQ too).
    CHECK((co_await aio::nop()).ok());
    peak = rt->inflight();
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(peak == 100);
  CHECK(cancelled == 100);
  CHECK(rt->stats().cancels_sent == 100);
  CHECK(rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}

TEST_CASE("cancel_fd cancels every read pending on an fd") {
  Fifo fifo;
  auto rt = test::make_runtime();
  int cancelled = 0;
  auto n = rt->block_on([&]() -> aio::Task<aio::Result<std::size_t>> {
    aio::Scope scope(co_await aio::stop_token());
    for (int i = 0; i < 3; ++i)
      scope.spawn([](int fd, int& c) -> aio::Task<void> {
        std::array<std::byte, 8> buf{};
        c += (co_await aio::read(fd, buf)).cancelled() ? 1 : 0;
      }(fifo.rd.get(), cancelled));
    (void)co_await aio::nop();
    auto found = co_await aio::cancel_fd(fifo.rd.get());
    co_await scope.join();
    co_return found;
  }());
  REQUIRE(n.ok());
  CHECK(*n == 3);
  CHECK(cancelled == 3);
}

TEST_CASE("a read cancelled after the kernel completed it hands its bytes to its owner") {
  // Both reads find data and complete inside one submission, so their CQEs
  // arrive in one batch. The first one's task stops the scope while the
  // second's CQE is still unread: its cancel is too late (ENOENT) and its
  // bytes must reach its owner, not be dropped as "cancelled".
  Fifo a, b;
  REQUIRE(::write(a.wr.get(), "A", 1) == 1);
  REQUIRE(::write(b.wr.get(), "BB", 2) == 2);
  auto rt = test::make_runtime();
  aio::Result<std::size_t> second = std::size_t{0};
  std::array<std::byte, 8> buf{};
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd, aio::Scope& s) -> aio::Task<void> {
      std::array<std::byte, 8> mine{};
      (void)co_await aio::read(fd, mine);
      s.request_stop();
    }(a.rd.get(), scope));
    scope.spawn(
        [](int fd, std::span<std::byte> into, aio::Result<std::size_t>& out) -> aio::Task<void> {
          out = co_await aio::read(fd, into);
        }(b.rd.get(), buf, second));
    co_await scope.join();
  }());
  CHECK(rt->stats().cancels_sent == 1);
  REQUIRE(second.ok());
  CHECK(*second == 2);
  CHECK(std::string(reinterpret_cast<char*>(buf.data()), 2) == "BB");
}

TEST_CASE("an operation started without a stop token ends only by cancel(), once") {
  Fifo fifo;
  int calls = 0, result = 0;
  test::RecordingRead op(fifo.rd.get(), calls, result);
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    REQUIRE(rt->start(op, aio::StopToken()));
    (void)co_await aio::nop(); // the read is armed in the kernel
    CHECK(calls == 0);
    CHECK(rt->inflight() == 1);
    rt->cancel(op); // what its owner does on a stop
    while (calls == 0)
      (void)co_await aio::nop();
  }());
  CHECK(calls == 1);
  CHECK(aio::interpret(result).cancelled());
  CHECK(rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}
