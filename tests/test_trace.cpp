// Cancellation is never silent: with tracing on, every submission,
// completion and cancel is logged; and a read stuck in an io-wq worker is
// really interrupted by its cancel.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <cstdio>

namespace {

// Runs `fn` with stderr sent to a temp file; gives what was written.
template <class F> std::string capture_stderr(F fn) {
  std::FILE* tmp = std::tmpfile();
  REQUIRE(tmp != nullptr);
  std::fflush(stderr);
  int saved = dup(2);
  dup2(fileno(tmp), 2);
  fn();
  std::fflush(stderr);
  dup2(saved, 2);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  for (int c; (c = std::fgetc(tmp)) != EOF;)
    out += char(c);
  std::fclose(tmp);
  return out;
}

using Fifo = test::ConnectedFifo;

} // namespace

TEST_CASE("with tracing on, a cancelled read logs its submit, cancel and completion") {
  Fifo fifo;
  aio::RuntimeOptions o;
  o.trace = true;
  std::string log = capture_stderr([&] {
    auto rt = aio::Runtime::create(o);
    REQUIRE(rt.ok());
    (*rt)->block_on([&]() -> aio::Task<void> {
      aio::Scope scope(co_await aio::stop_token());
      scope.spawn([](int fd) -> aio::Task<void> {
        std::array<std::byte, 8> buf{};
        (void)co_await aio::read(fd, buf);
      }(fifo.rd.get()));
      scope.request_stop();
      co_await scope.join();
    }());
  });
  CHECK(log.find("submit     read") != std::string::npos);
  CHECK(log.find("cancel     read") != std::string::npos);
  CHECK(log.find("cancel-cqe read") != std::string::npos);
  CHECK(log.find("complete   read") != std::string::npos);
  CHECK(log.find("res=-125") != std::string::npos); // ECANCELED, said out loud
}

TEST_CASE("without tracing the runtime prints nothing") {
  Fifo fifo;
  aio::RuntimeOptions o;
  o.trace = false;
  std::string log = capture_stderr([&] {
    auto rt = aio::Runtime::create(o);
    REQUIRE(rt.ok());
    (*rt)->block_on([&]() -> aio::Task<void> {
      std::array<std::byte, 8> buf{};
      (void)co_await aio::with_timeout(
          [](int fd, std::span<std::byte> b) -> aio::Task<aio::Result<std::size_t>> {
            co_return co_await aio::read(fd, b);
          }(fifo.rd.get(), buf),
          std::chrono::milliseconds(1));
    }());
  });
  CHECK(log.empty());
}

TEST_CASE("a read blocked inside an io-wq worker is interrupted by its cancel") {
  // A blocking fd and IOSQE_ASYNC force the read into a worker thread, where
  // it sleeps in pipe_read: the one place a cancel must signal a thread.
  Fifo fifo;
  aio::UniqueFd blocking(::open(fifo.path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(blocking.valid());
  auto rt = test::make_runtime();
  bool cancelled = false;
  int threads_during = 0;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd, bool& c) -> aio::Task<void> {
      std::array<std::byte, 8> buf{};
      auto r = co_await aio::detail::make_op(
          "read-async", fd,
          [&](io_uring_sqe* s) {
            io_uring_prep_read(s, fd, buf.data(), buf.size(), -1);
            s->flags |= IOSQE_ASYNC;
          },
          aio::detail::as_count);
      c = r.cancelled();
    }(blocking.get(), cancelled));
    (void)co_await aio::sleep_for(std::chrono::milliseconds(20)); // the worker is in read()
    threads_during = test::thread_count();
    scope.request_stop();
    co_await scope.join();
  }());
  // The worker was really there. The readiness backend has none: the read
  // of a blocking FIFO waits in epoll and is never issued, so the loop's
  // thread is the only one.
  if (rt->backend() == aio::BackendKind::Uring)
    CHECK(threads_during >= 2);
  else
    CHECK(threads_during == 1);
  CHECK(cancelled); // -EINTR/-ERESTARTSYS from the worker reads as cancelled
  CHECK(rt->inflight() == 0);
  rt.reset();
  CHECK(test::settled_thread_count() == 1);
}
