// Trap 3: "done" means done. A write completes only when the kernel did it.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <vector>

TEST_CASE("done means done: 1000 writes of 1 MiB are always visible to fstat at completion") {
  test::TempDir dir;
  auto path = dir.file("w");
  aio::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  std::vector<std::byte> buf(1 << 20, std::byte{0x5a});
  auto rt = test::make_runtime();
  int invisible = 0;
  rt->block_on([&]() -> aio::Task<void> {
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(::ftruncate(fd.get(), 0) == 0);
      auto w = co_await aio::write_all(fd.get(), buf, 0);
      REQUIRE(w.ok());
      struct stat st {};
      REQUIRE(::fstat(fd.get(), &st) == 0);
      if (st.st_size != static_cast<off_t>(buf.size())) ++invisible;
    }
  }());
  CHECK(invisible == 0);
}

TEST_CASE("write_all finishes short writes to a pipe") {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
  aio::UniqueFd rd(p[0]), wr(p[1]);
  REQUIRE(fcntl(wr.get(), F_SETPIPE_SZ, 4096) >= 0);
  std::vector<std::byte> data(256 * 1024);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = std::byte(i * 7);
  std::vector<std::byte> got;
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    aio::Result<std::size_t> written = std::size_t{0};
    scope.spawn(
        [](int fd, std::span<const std::byte> d, aio::Result<std::size_t>& out) -> aio::Task<void> {
          out = co_await aio::write_all(fd, d);
        }(wr.get(), data, written));
    while (got.size() < data.size()) {
      std::array<std::byte, 3000> buf{};
      auto r = co_await aio::read_ready(rd.get(), buf);
      REQUIRE(r.ok());
      got.insert(got.end(), buf.begin(), buf.begin() + long(*r));
    }
    co_await scope.join();
    REQUIRE(written.ok());
    CHECK(*written == data.size());
  }());
  CHECK(got == data);
}

TEST_CASE("write to a pipe with no reader gives EPIPE as an error, not a signal death") {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  ::close(p[0]);
  aio::UniqueFd wr(p[1]);
  signal(SIGPIPE, SIG_IGN);
  auto rt = test::make_runtime();
  auto r = rt->block_on([&]() -> aio::Task<aio::Result<std::size_t>> {
    co_return co_await aio::write(wr.get(), test::bytes("x"));
  }());
  signal(SIGPIPE, SIG_DFL);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == std::errc::broken_pipe);
}

TEST_CASE("write_all reports the bytes written before a failure") {
  // A pipe with 64 KiB of room whose reader goes away after the first
  // write: the second write fails with EPIPE, the count is kept.
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
  aio::UniqueFd rd(p[0]);
  aio::UniqueFd wr(p[1]);
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::byte> data(1 << 20, std::byte{'a'});
  std::size_t written = 0;
  auto rt = test::make_runtime();
  auto r = rt->block_on([&]() -> aio::Task<aio::Result<std::size_t>> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](aio::UniqueFd& rd) -> aio::Task<void> {
      (void)co_await aio::nop();
      rd.reset(); // the reader leaves with the pipe full
    }(rd));
    auto w = co_await aio::write_all(wr.get(), data, aio::kCurrentPosition, &written);
    co_await scope.join();
    co_return w;
  }());
  signal(SIGPIPE, SIG_DFL);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == std::errc::broken_pipe);
  CHECK(written > 0);
  CHECK(written < data.size());
  CHECK(written % 4096 == 0);
}

TEST_CASE("a write of more than 4 GiB comes back short, not cut to its low 32 bits") {
  // 4 GiB + 16 of address space, never touched: /dev/null reads none of it.
  const std::size_t len = (std::size_t{1} << 32) + 16;
  void* m = mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(m != MAP_FAILED);
  aio::UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto rt = test::make_runtime();
  auto r = rt->block_on([&]() -> aio::Task<aio::Result<std::size_t>> {
    co_return co_await aio::write(null.get(), std::span(static_cast<const std::byte*>(m), len));
  }());
  munmap(m, len);
  REQUIRE(r.ok());
  // Cut to 32 bits it would have been 16.
  CHECK(*r == aio::kMaxIo);
}
