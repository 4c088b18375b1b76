// Every fd an operation names is held until its last CQE: a close by its
// owner meanwhile is deferred, so the number cannot be reused under the
// operation (an openat's directory, a splice's output).
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <optional>

namespace {

aio::UniqueFd open_dir(const std::filesystem::path& p) {
  return aio::UniqueFd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

std::uintmax_t size_or_missing(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? static_cast<std::uintmax_t>(-1) : n;
}

} // namespace

TEST_CASE("an openat whose directory fd is closed meanwhile creates the file in that directory") {
  test::TempDir top;
  std::filesystem::create_directory(top.path() / "A");
  std::filesystem::create_directory(top.path() / "B");
  auto rt = test::make_runtime();
  int reused = -2;
  int number = -1;
  rt->block_on([&]() -> aio::Task<void> {
    aio::UniqueFd a = open_dir(top.path() / "A");
    REQUIRE(a.valid());
    number = a.get();
    std::optional<aio::Result<aio::UniqueFd>> made;
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int dirfd, std::optional<aio::Result<aio::UniqueFd>>& out) -> aio::Task<void> {
      out.emplace(co_await aio::openat(dirfd, "target", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    }(a.get(), made));
    // The kernel reads the SQE at the loop's next enter, after these two:
    // closing A at once would hand its number to B.
    a.reset();
    aio::UniqueFd b = open_dir(top.path() / "B");
    reused = b.get();
    co_await scope.join();
    REQUIRE(made.has_value());
    CHECK(made->ok());
  }());
  CHECK(reused != number);
  CHECK(std::filesystem::exists(top.path() / "A" / "target"));
  CHECK_FALSE(std::filesystem::exists(top.path() / "B" / "target"));
  CHECK(rt->inflight() == 0);
}

TEST_CASE("a splice whose output fd is closed meanwhile writes into that file, not its successor") {
  test::TempDir dir;
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  aio::UniqueFd rd(p[0]);
  aio::UniqueFd wr(p[1]);
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    aio::UniqueFd a(::open(dir.file("A").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    REQUIRE(a.valid());
    const int number = a.get();
    std::optional<aio::Result<std::size_t>> moved;
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(
        [](int in, int out, std::optional<aio::Result<std::size_t>>& res) -> aio::Task<void> {
          res.emplace(co_await aio::splice(in, -1, out, 0, 8));
        }(rd.get(), a.get(), moved));
    a.reset();
    aio::UniqueFd b(::open(dir.file("B").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    CHECK(b.get() != number);
    REQUIRE(::write(wr.get(), "8 bytes!", 8) == 8);
    co_await scope.join();
    REQUIRE(moved.has_value());
    REQUIRE(moved->ok());
    CHECK(**moved == 8);
  }());
  CHECK(size_or_missing(dir.path() / "A") == 8);
  CHECK(size_or_missing(dir.path() / "B") == 0);
}

TEST_CASE("a deferred close still closes once the last operation on the fd ends") {
  test::ConnectedFifo f;
  auto rt = test::make_runtime();
  int number = f.rd.get();
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(test::pending_read(f.rd.get()));
    f.rd.reset(); // a read is pending on it: the close waits
    CHECK(fcntl(number, F_GETFD) != -1);
    REQUIRE(::write(f.wr.get(), "x", 1) == 1);
    co_await scope.join();
  }());
  CHECK(fcntl(number, F_GETFD) == -1);
}

TEST_CASE("close() of an fd with a read pending returns only once the fd is closed") {
  test::ConnectedFifo f;
  auto rt = test::make_runtime();
  const int number = f.rd.get();
  bool open_when_close_returned = true;
  bool close_ok = false;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(test::pending_read(number));
    scope.spawn([](aio::UniqueFd fd, bool& open, bool& ok) -> aio::Task<void> {
      auto r = co_await aio::close(std::move(fd));
      ok = r.ok();
      open = false;
    }(std::move(f.rd), open_when_close_returned, close_ok));
    (void)co_await aio::nop();
    // The read still holds the fd: close() has not returned.
    CHECK(open_when_close_returned);
    CHECK(fcntl(number, F_GETFD) != -1);
    REQUIRE(::write(f.wr.get(), "x", 1) == 1);
    co_await scope.join();
  }());
  CHECK_FALSE(open_when_close_returned);
  CHECK(close_ok);
  CHECK(fcntl(number, F_GETFD) == -1);
}

TEST_CASE("a close that returns EINTR or ERESTARTSYS has closed the fd: never retried") {
  // Linux frees the number whatever close returns; retrying could close
  // whatever reused it. Only a close cancelled before it ran is not done.
  CHECK(aio::interpret_close(0).ok());
  CHECK(aio::interpret_close(-EINTR).ok());
  CHECK(aio::interpret_close(-aio::kErestartsys).ok());
  CHECK(aio::interpret_close(-EIO).error() == std::errc::io_error);
}

TEST_CASE("close() in a stopped task still closes the fd, once") {
  test::ConnectedFifo f;
  auto rt = test::make_runtime();
  const int number = f.rd.get();
  aio::UniqueFd successor;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.request_stop();
    scope.spawn([](aio::UniqueFd fd) -> aio::Task<void> {
      (void)co_await aio::close(std::move(fd));
    }(std::move(f.rd)));
    co_await scope.join();
  }());
  CHECK(fcntl(number, F_GETFD) == -1);
  successor.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(successor.get() == number); // the lowest free number: reused
  CHECK(fcntl(number, F_GETFD) != -1);
}
