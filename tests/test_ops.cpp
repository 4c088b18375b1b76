// Each operation against the real kernel: results, errors, fd ownership.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>

#include <array>
#include <cstring>

using namespace std::chrono_literals;

TEST_CASE("nop round trip completes with zero") {
  auto rt = test::make_runtime();
  auto r = rt->block_on(
      []() -> aio::Task<aio::Result<std::size_t>> { co_return co_await aio::nop(); }());
  REQUIRE(r.ok());
  CHECK(*r == 0);
}

TEST_CASE("openat write read statx fsync close round trip a file") {
  test::TempDir dir;
  auto path = dir.file("f");
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    auto fd = co_await aio::openat(AT_FDCWD, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd.ok());
    std::string text = "hello, ring\n";
    auto w = co_await aio::write_all(fd->get(), test::bytes(text), 0);
    REQUIRE(w.ok());
    CHECK(*w == text.size());
    CHECK((co_await aio::fsync(fd->get())).ok());
    std::array<std::byte, 64> buf{};
    auto r = co_await aio::read(fd->get(), buf, 0);
    REQUIRE(r.ok());
    CHECK(std::string(reinterpret_cast<char*>(buf.data()), *r) == text);
    auto st = co_await aio::statx(AT_FDCWD, path.c_str());
    REQUIRE(st.ok());
    CHECK(st->stx_size == text.size());
    CHECK((co_await aio::close(std::move(*fd))).ok());
  }());
}

TEST_CASE("openat of a missing file gives ENOENT as an error code") {
  auto rt = test::make_runtime();
  auto r = rt->block_on([]() -> aio::Task<aio::Result<aio::UniqueFd>> {
    co_return co_await aio::openat(AT_FDCWD, "/nonexistent/x", O_RDONLY);
  }());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == std::errc::no_such_file_or_directory);
}

TEST_CASE("openat_offloaded opens by its directory fd and reports ENOENT like openat") {
  test::TempDir dir;
  {
    int fd = ::open(dir.file("f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "abc", 3) == 3);
    ::close(fd);
  }
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    auto d = co_await aio::openat(AT_FDCWD, dir.path().c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(d.ok());
    auto f = co_await aio::openat_offloaded(d->get(), "f", O_RDONLY | O_CLOEXEC);
    REQUIRE(f.ok());
    std::array<std::byte, 8> buf{};
    auto r = co_await aio::read(f->get(), buf, 0);
    REQUIRE(r.ok());
    CHECK(std::string(reinterpret_cast<char*>(buf.data()), *r) == "abc");
    auto missing = co_await aio::openat_offloaded(d->get(), "nope", O_RDONLY);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error() == std::errc::no_such_file_or_directory);
  }());
}

TEST_CASE("read on a closed fd gives EBADF, never a count") {
  auto rt = test::make_runtime();
  auto r = rt->block_on([]() -> aio::Task<aio::Result<std::size_t>> {
    std::array<std::byte, 8> buf{};
    co_return co_await aio::read(1000, buf);
  }());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == std::errc::bad_file_descriptor);
}

TEST_CASE("sleep fires as success and poll reports readiness") {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
  aio::UniqueFd rd(p[0]), wr(p[1]);
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    CHECK((co_await aio::sleep_for(1ms)).ok());
    CHECK(::write(wr.get(), "x", 1) == 1);
    auto m = co_await aio::poll(rd.get(), POLLIN);
    REQUIRE(m.ok());
    CHECK((*m & POLLIN) != 0);
  }());
}

TEST_CASE("splice moves bytes from a file into a pipe") {
  test::TempDir dir;
  auto path = dir.file("src");
  { std::ofstream(path) << "spliced bytes"; }
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  aio::UniqueFd rd(p[0]), wr(p[1]);
  aio::UniqueFd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  auto rt = test::make_runtime();
  auto n = rt->block_on([&]() -> aio::Task<aio::Result<std::size_t>> {
    co_return co_await aio::splice(src.get(), 0, wr.get(), -1, 64);
  }());
  REQUIRE(n.ok());
  CHECK(*n == 13);
  char buf[32] = {};
  CHECK(::read(rd.get(), buf, sizeof buf) == 13);
  CHECK(std::string(buf) == "spliced bytes");
}

TEST_CASE("a stopped task submits nothing and gets a synthetic ECANCELED") {
  auto rt = test::make_runtime();
  auto before = rt->stats().submitted;
  auto r = rt->block_on([&]() -> aio::Task<aio::Result<std::size_t>> {
    aio::Scope scope(co_await aio::stop_token());
    aio::Result<std::size_t> out = std::size_t{99};
    scope.request_stop();
    scope.spawn(
        [](aio::Result<std::size_t>& o) -> aio::Task<void> { o = co_await aio::nop(); }(out));
    co_await scope.join();
    co_return out;
  }());
  CHECK(r.cancelled());
  CHECK(rt->stats().submitted == before);
  CHECK(rt->stats().cancelled_unsubmitted == 1);
}

TEST_CASE("an fd with an operation in flight is closed only after it completes") {
  test::TempDir dir;
  auto path = dir.fifo("f");
  auto rt = test::make_runtime();
  int raw = -1;
  rt->block_on([&]() -> aio::Task<void> {
    auto reader = co_await aio::openat(AT_FDCWD, path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(reader.ok());
    aio::UniqueFd writer(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    raw = reader->get();
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd) -> aio::Task<void> {
      std::array<std::byte, 8> buf{};
      auto r = co_await aio::read(fd, buf);
      CHECK(r.ok());
    }(raw));
    reader->reset();                  // the owner lets go while the read is pending
    CHECK(fcntl(raw, F_GETFD) != -1); // still open: the number cannot be reused
    CHECK(::write(writer.get(), "z", 1) == 1);
    co_await scope.join();
    CHECK(fcntl(raw, F_GETFD) == -1); // closed once the read completed
  }());
}

TEST_CASE("an urgent write is in the kernel before its task suspends, and costs no wait") {
  // Plain, the write would sit in the SQ until the loop's next wait: the
  // FIFO would still be empty when spawn() returns.
  test::ConnectedFifo fifo;
  auto rt = test::make_runtime();
  std::uint64_t waits = 0;
  aio::Result<std::size_t> w = std::size_t{0};
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd, aio::Result<std::size_t>& out) -> aio::Task<void> {
      const std::string text = "now";
      out = co_await aio::Urgent{aio::write(fd, test::bytes(text))};
    }(fifo.wr.get(), w));
    std::array<char, 8> got{};
    CHECK(::read(fifo.rd.get(), got.data(), got.size()) == 3);
    CHECK(std::string(got.data(), 3) == "now");
    const std::uint64_t before = rt->stats().waits;
    co_await scope.join();
    // Its CQE was already in the CQ: the loop reaped it without a wait.
    waits = rt->stats().waits - before;
  }());
  REQUIRE(w.ok());
  CHECK(*w == 3);
  CHECK(waits == 0);
}
