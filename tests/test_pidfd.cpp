// Waiting for a process to end through a pidfd polled on the ring.
#include "support.hpp"

#include "aio/pidfd.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>

TEST_CASE("wait_exit ends when the child exits, not before") {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    char c;
    (void)!::read(p[0], &c, 1); // until the parent says go
    _exit(0);
  }
  ::close(p[0]);
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    auto fd = aio::pidfd_open(child);
    REQUIRE(fd.ok());
    bool ended = false;
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int pfd, bool& e) -> aio::Task<void> {
      auto r = co_await aio::wait_exit(pfd);
      CHECK(r.ok());
      e = true;
    }(fd->get(), ended));
    CHECK((co_await aio::nop()).ok());
    CHECK_FALSE(ended);
    CHECK(::write(p[1], "g", 1) == 1);
    co_await scope.join();
    CHECK(ended);
  }());
  ::close(p[1]);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
}

TEST_CASE("pidfd_open of a reaped process says ESRCH") {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  auto fd = aio::pidfd_open(child);
  REQUIRE_FALSE(fd.ok());
  CHECK(fd.error() == std::errc::no_such_process);
}
