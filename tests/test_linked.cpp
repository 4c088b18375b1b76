// Linked pairs (Runtime::start_linked, aio::Linked): the tail is issued only
// once the head completed, whatever its result, and a stop ends both, even
// while the tail still waits behind its head.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace {

std::string text(const std::array<std::byte, 64>& buf, std::size_t n) {
  return {reinterpret_cast<const char*>(buf.data()), n};
}

struct PairOutcome {
  aio::Result<std::size_t> head = std::size_t{0};
  aio::Result<std::size_t> tail = std::size_t{0};
  std::string tail_bytes;
  int ended = 0;

  void record(aio::Result<std::size_t> h, aio::Result<std::size_t> t,
              const std::array<std::byte, 64>& tail_buf) {
    head = h;
    tail = t;
    if (t) tail_bytes = text(tail_buf, *t);
    ++ended;
  }
};

// A regular file in a fresh directory for a pair's tail to read, holding
// `contents` from offset 0.
struct TailFile {
  test::TempDir dir;
  aio::UniqueFd fd{::open(dir.file("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};

  explicit TailFile(const std::string& contents = "") {
    if (!contents.empty())
      REQUIRE(::pwrite(fd.get(), contents.data(), contents.size(), 0) ==
              static_cast<ssize_t>(contents.size()));
  }
  int get() const noexcept { return fd.get(); }
  bool valid() const noexcept { return fd.valid(); }
};

// Awaits a pair: a read of `head_fd`, then a read of `tail_fd` at offset 0.
aio::Task<void> read_pair(int head_fd, int tail_fd, PairOutcome& out) {
  std::array<std::byte, 64> a{}, b{};
  auto [h, t] = co_await aio::Linked{aio::read(head_fd, a), aio::read(tail_fd, b, 0)};
  out.record(h, t, b);
}

// A pair with a quiet head: a read of `head_fd` whose success posts no CQE,
// then a read of the regular file `tail_fd` at offset 0.
aio::Task<void> read_quiet_pair(int head_fd, std::span<std::byte> head_buf, int tail_fd,
                                PairOutcome& out) {
  std::array<std::byte, 64> b{};
  auto [h, t] = co_await aio::Linked{aio::quiet_read(head_fd, head_buf), aio::read(tail_fd, b, 0)};
  out.record(h, t, b);
}

// A quiet pair whose head reads a connected FIFO and whose tail reads a
// file holding `contents`.
struct QuietFifoPair {
  test::ConnectedFifo fifo;
  TailFile file;
  std::unique_ptr<aio::Runtime> rt;
  PairOutcome out;
  std::array<std::byte, 8> head_buf{};

  explicit QuietFifoPair(const std::string& contents = "") : file(contents) {}

  // Starts the pair on a new runtime, calls `then(scope)` once it is in the
  // kernel with its head armed on the FIFO, and gives the waits its end took.
  template <class Then> std::uint64_t run(Then then) {
    rt = test::make_runtime();
    std::uint64_t waits = 0;
    rt->block_on([&]() -> aio::Task<void> {
      aio::Scope scope(co_await aio::stop_token());
      scope.spawn(read_quiet_pair(fifo.rd.get(), head_buf, file.get(), out));
      (void)co_await aio::nop();
      then(scope);
      const std::uint64_t before = rt->stats().waits;
      co_await scope.join();
      waits = rt->stats().waits - before;
    }());
    return waits;
  }
};

} // namespace

TEST_CASE("the tail of a linked pair reads what was written before its head completed") {
  test::ConnectedFifo fifo;
  TailFile file;
  REQUIRE(file.valid());
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  PairOutcome out;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(read_pair(fifo.rd.get(), file.get(), out));
    (void)co_await aio::nop(); // the pair is in the kernel, the head armed on the FIFO
    // Unlinked, the file read would have completed already, with 0 bytes.
    REQUIRE(::pwrite(file.get(), "appended", 8, 0) == 8);
    REQUIRE(::write(fifo.wr.get(), "!", 1) == 1);
    co_await scope.join();
  }());
  CHECK(out.ended == 1);
  REQUIRE(out.head.ok());
  CHECK(*out.head == 1);
  REQUIRE(out.tail.ok());
  CHECK(out.tail_bytes == "appended");
  CHECK(rt->inflight() == 0);
  // Both ran in the kernel's task work: the head poll-armed, the tail
  // inline from the page cache; no io-wq worker was needed.
  CHECK(test::thread_count() == 1);
}

TEST_CASE("a linked pair whose head completes during a wait comes back from that one wait") {
  // Deferred task work stops at the first CQE: the head's. The kernel's
  // issue of the tail is task work left for the next enter, so a runtime
  // that only waits again spends a second pass through its loop (and the
  // tail's latency) on it; acat -f's read of new bytes is such a tail.
  test::ConnectedFifo fifo;
  TailFile file("new");
  auto rt = test::make_runtime();
  PairOutcome out;
  std::uint64_t waits = 0;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(read_pair(fifo.rd.get(), file.get(), out));
    (void)co_await aio::nop(); // the head is armed on the silent FIFO
    REQUIRE(::write(fifo.wr.get(), "!", 1) == 1);
    const std::uint64_t before = rt->stats().waits;
    co_await scope.join();
    waits = rt->stats().waits - before;
  }());
  CHECK(out.ended == 1);
  REQUIRE(out.tail.ok());
  CHECK(out.tail_bytes == "new");
  CHECK(waits == 1);
}

TEST_CASE("the tail of a linked pair runs even when its head fails") {
  TailFile file("data");
  aio::UniqueFd dir_fd(::open(file.dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  PairOutcome out;
  rt->block_on(read_pair(dir_fd.get(), file.get(), out)); // reading a directory: EISDIR
  REQUIRE_FALSE(out.head.ok());
  CHECK(out.head.error() == std::errc::is_a_directory);
  REQUIRE(out.tail.ok());
  CHECK(out.tail_bytes == "data");
  // (6.18 issues the tail of a head that failed at submission from an io-wq
  // worker: the ring's worker cap bounds that. acat's head, an inotify
  // read, does not fail at submission.)
}

TEST_CASE("a stop ends a linked pair whose tail would wait forever behind its head") {
  // Both reads are on silent FIFOs. The tail cannot be found by an
  // ASYNC_CANCEL before its head completes, and a hard link issues it even
  // after the head was cancelled: a cancel sent at stop time would be lost
  // and the tail would wait forever. The runtime sends it when the head ends.
  test::ConnectedFifo a, b;
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  PairOutcome out;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(read_pair(a.rd.get(), b.rd.get(), out));
    (void)co_await aio::nop();
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(out.ended == 1);
  CHECK(out.head.cancelled());
  CHECK(out.tail.cancelled());
  CHECK(rt->inflight() == 0);
  CHECK(rt->stats().cancels_sent == 2);
  CHECK(test::thread_count() == 1);
}

TEST_CASE("a linked pair started under a stopped token ends cancelled without the kernel") {
  test::ConnectedFifo a;
  auto rt = test::make_runtime();
  PairOutcome out;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.request_stop();
    scope.spawn(read_pair(a.rd.get(), a.rd.get(), out));
    co_await scope.join();
  }());
  CHECK(out.ended == 1);
  CHECK(out.head.cancelled());
  CHECK(out.tail.cancelled());
  CHECK(rt->stats().submitted == 0);
  CHECK(rt->stats().cancelled_unsubmitted == 2);
}

TEST_CASE("a linked pair that finds one free SQE goes out whole, still linked") {
  // 8 SQ entries; seven reads prepared in this turn leave one: the pair
  // must not be split across two submissions (its link would be lost).
  test::ConnectedFifo fillers, head;
  TailFile file;
  auto rt = test::make_runtime(8);
  PairOutcome out;
  int filler_cancelled = 0;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope outer(co_await aio::stop_token());
    {
      aio::Scope fill(co_await aio::stop_token());
      for (int i = 0; i < 7; ++i)
        fill.spawn([](int fd, int& c) -> aio::Task<void> {
          std::array<std::byte, 8> buf{};
          auto r = co_await aio::read(fd, buf);
          c += r.cancelled() ? 1 : 0;
        }(fillers.rd.get(), filler_cancelled));
      outer.spawn(read_pair(head.rd.get(), file.get(), out));
      CHECK(rt->inflight() == 9);
      fill.request_stop();
      co_await fill.join();
    }
    (void)co_await aio::nop();
    // Linked: the tail has not run before its head, so it reads what the
    // file holds once the head is over.
    REQUIRE(::pwrite(file.get(), "late", 4, 0) == 4);
    REQUIRE(::write(head.wr.get(), "!", 1) == 1);
    co_await outer.join();
  }());
  CHECK(filler_cancelled == 7);
  CHECK(out.ended == 1);
  REQUIRE(out.tail.ok());
  CHECK(out.tail_bytes == "late");
}

TEST_CASE("a linked pair fits the smallest ring a runtime makes") {
  // One SQ entry would give room for one operation, and a pair, which goes
  // out whole or not at all, would wait for room forever.
  TailFile file("tiny");
  auto rt = test::make_runtime(1);
  PairOutcome out;
  rt->block_on(read_pair(file.get(), file.get(), out));
  REQUIRE(out.head.ok());
  REQUIRE(out.tail.ok());
  CHECK(out.tail_bytes == "tiny");
}

TEST_CASE("a quiet head's success posts no CQE: its tail's CQE ends the pair in one wait") {
  QuietFifoPair p("tail");
  REQUIRE(test::settled_thread_count() == 1);
  const std::uint64_t waits = p.run([&](aio::Scope&) {
    REQUIRE(::write(p.fifo.wr.get(), "12345678", 8) == 8); // fills it: not short
  });
  CHECK(p.out.ended == 1);
  // The kernel read 8 bytes, but the head never had a CQE to say so.
  REQUIRE(p.out.head.ok());
  CHECK(*p.out.head == 0);
  CHECK(std::string(reinterpret_cast<const char*>(p.head_buf.data()), 8) == "12345678");
  REQUIRE(p.out.tail.ok());
  CHECK(p.out.tail_bytes == "tail");
  CHECK(waits == 1);
  CHECK(p.rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}

TEST_CASE("a quiet head's short read posts its CQE with the count") {
  // The kernel counts a short read as failed in a link: the CQE comes, and
  // the pair must still end once, with the real count.
  QuietFifoPair p;
  p.run([&](aio::Scope&) { REQUIRE(::write(p.fifo.wr.get(), "xy", 2) == 2); });
  CHECK(p.out.ended == 1);
  REQUIRE(p.out.head.ok());
  CHECK(*p.out.head == 2);
  REQUIRE(p.out.tail.ok());
  CHECK(p.rt->inflight() == 0);
}

TEST_CASE("a quiet head that fails still reports its error, and its tail still runs") {
  TailFile file("data");
  aio::UniqueFd dir_fd(::open(file.dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto rt = test::make_runtime();
  PairOutcome out;
  std::array<std::byte, 8> head_buf{};
  rt->block_on(read_quiet_pair(dir_fd.get(), head_buf, file.get(), out));
  REQUIRE_FALSE(out.head.ok());
  CHECK(out.head.error() == std::errc::is_a_directory);
  REQUIRE(out.tail.ok());
  CHECK(out.tail_bytes == "data");
  CHECK(rt->inflight() == 0);
}

TEST_CASE("a stop ends a quiet pair whose head waits on a silent FIFO") {
  QuietFifoPair p;
  REQUIRE(test::settled_thread_count() == 1);
  p.run([](aio::Scope& scope) { scope.request_stop(); });
  CHECK(p.out.ended == 1);
  CHECK(p.out.head.cancelled());
  // The hard link issues the tail anyway; its cancel may find it done.
  CHECK((p.out.tail.cancelled() || (p.out.tail.ok() && *p.out.tail == 0)));
  CHECK(p.rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}

TEST_CASE("a stop ends a quiet pair whose head succeeded and whose tail waits on a silent FIFO") {
  // The head's success posts no CQE, so nothing says the kernel issued the
  // tail: the cancel for the tail cannot wait for the head's end, as it
  // does in a loud pair. It goes out at once and again until it lands.
  TailFile head_file("12345678");
  test::ConnectedFifo tail_fifo;
  REQUIRE(test::settled_thread_count() == 1);
  auto rt = test::make_runtime();
  PairOutcome out;
  std::array<std::byte, 8> head_buf{};
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(
        [](int head_fd, std::span<std::byte> hb, int tail_fd, PairOutcome& o) -> aio::Task<void> {
          std::array<std::byte, 64> b{};
          auto [h, t] = co_await aio::Linked{aio::quiet_read(head_fd, hb), aio::read(tail_fd, b)};
          o.record(h, t, b);
        }(head_file.get(), head_buf, tail_fifo.rd.get(), out));
    (void)co_await aio::nop();
    (void)co_await aio::nop();
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(out.ended == 1);
  REQUIRE(out.head.ok());
  CHECK(*out.head == 0);
  CHECK(std::string(reinterpret_cast<const char*>(head_buf.data()), 8) == "12345678");
  CHECK(out.tail.cancelled());
  CHECK(rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}
