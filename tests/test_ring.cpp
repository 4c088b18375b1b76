// Ring set-up: the preferred flags on this kernel, the probe, the error text.
#include "support.hpp"

#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <fstream>
#include <string>

TEST_CASE("the ring is set up single-issuer with deferred task work where the kernel has it") {
  aio::Ring ring;
  REQUIRE(ring.init({}).ok());
  // Kernel 6.1+ has all three; the fallback chain is exercised on older ones.
  CHECK((ring.setup_flags() & IORING_SETUP_DEFER_TASKRUN) != 0);
  CHECK((ring.setup_flags() & IORING_SETUP_TASKRUN_FLAG) != 0);
  CHECK(ring.supports(IORING_OP_READ));
  CHECK(ring.missing({IORING_OP_READ, IORING_OP_ASYNC_CANCEL}).empty());
  CHECK(ring.cq_entries() == 2 * ring.sq_entries());
}

TEST_CASE("an impossible ring size is an error with a reason, not an abort") {
  aio::Ring ring;
  std::string why;
  aio::RingOptions o;
  o.entries = 1u << 30;
  auto r = ring.init(o, &why);
  CHECK_FALSE(r.ok());
  CHECK_FALSE(why.empty());
}

TEST_CASE("unavailable io_uring is explained in one sentence") {
  auto s = aio::io_uring_unavailable_reason(aio::errno_code(ENOSYS));
  CHECK(s.find("no io_uring") != std::string::npos);
  auto m = aio::io_uring_unavailable_reason(aio::errno_code(ENOMEM));
  CHECK(m.find("MEMLOCK") != std::string::npos);
}

TEST_CASE("io_uring disabled by sysctl is named as the reason") {
  auto off = aio::io_uring_unavailable_reason(aio::errno_code(EPERM), 2);
  CHECK(off == "io_uring is disabled on this host (kernel.io_uring_disabled=2)");
  auto group = aio::io_uring_unavailable_reason(aio::errno_code(EPERM), 1);
  CHECK(group.find("io_uring_group") != std::string::npos);
  auto other = aio::io_uring_unavailable_reason(aio::errno_code(EPERM), 0);
  CHECK(other == "cannot set up io_uring: Operation not permitted");
}

TEST_CASE("interpret maps kernel results to counts, cancellation and errors") {
  CHECK(*aio::interpret(42) == 42);
  CHECK(aio::interpret(-ECANCELED).cancelled());
  CHECK(aio::interpret(-EINTR).cancelled());
  CHECK(aio::interpret(-aio::kErestartsys).cancelled());
  CHECK(aio::interpret(-ENOENT).error() == std::errc::no_such_file_or_directory);
}

TEST_CASE("an io_uring_enter error other than EINTR ends the process with its reason, no spin") {
  // A broken ring (here its fd replaced by /dev/null, so enter says
  // EOPNOTSUPP) can never tell how its operations ended: going on as if
  // the wait had returned would spin at full CPU forever.
  if (auto k = aio::choose_backend(); !k || *k != aio::BackendKind::Uring) {
    MESSAGE("skipped: the readiness backend makes no io_uring_enter");
    return;
  }
  int err[2];
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    dup2(err[1], 2);
    auto rt = aio::Runtime::create();
    if (!rt) _exit(3);
    const int ring_fd = (*rt)->ring().get()->ring_fd;
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, ring_fd) < 0) _exit(4);
    (*rt)->block_on([]() -> aio::Task<void> { (void)co_await aio::nop(); }());
    _exit(0); // not reached
  }
  ::close(err[1]);
  int status = 0;
  pid_t got = 0;
  for (int i = 0; i < 500 && got == 0; ++i) {
    got = waitpid(child, &status, WNOHANG);
    if (got == 0) usleep(10'000);
  }
  if (got == 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
  }
  std::string said(256, '\0');
  said.resize(std::max<ssize_t>(0, ::read(err[0], said.data(), said.size())));
  ::close(err[0]);
  REQUIRE(got == child); // ended by itself within 5 s
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(said.find("aio: io_uring_enter failed: Operation not supported") != std::string::npos);
}

namespace {
// Tasks of this process named iou-sqp-*: the SQPOLL kernel thread.
int sqpoll_threads() {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string comm;
    std::getline(f, comm);
    if (comm.rfind("iou-sqp-", 0) == 0) ++n;
  }
  closedir(d);
  return n;
}
} // namespace

TEST_CASE("a runtime on an SQPOLL ring reads and cancels through its polling thread") {
  test::ConnectedFifo fifo;
  REQUIRE(fifo.rd.valid());
  REQUIRE(fifo.wr.valid());
  aio::RuntimeOptions o = aio::default_runtime_options();
  o.ring.sqpoll = true;
  o.backend = aio::BackendKind::Uring; // the SQPOLL ring, not the readiness backend
  std::string why;
  auto rt = aio::Runtime::create(o, &why);
  if (!rt) {
    MESSAGE("skipped: the kernel refuses an SQPOLL ring here: " << why);
    return;
  }
  // The kernel thread names itself once it first runs: wait for that (up
  // to 5 s on a loaded machine), no timing is asserted.
  for (int i = 0; i < 500 && sqpoll_threads() == 0; ++i)
    usleep(10000);
  CHECK(sqpoll_threads() == 1);
  REQUIRE(::write(fifo.wr.get(), "hello", 5) == 5);
  std::string got;
  int cancelled = 0, other = 0;
  (*rt)->block_on([&]() -> aio::Task<void> {
    std::array<std::byte, 64> buf{};
    auto r = co_await aio::read(fifo.rd.get(), buf);
    if (r.ok()) got.assign(reinterpret_cast<const char*>(buf.data()), r.value());
    // A read of the now empty FIFO stays armed until it is cancelled.
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd, int& c, int& x) -> aio::Task<void> {
      std::array<std::byte, 64> b{};
      auto r2 = co_await aio::read(fd, b);
      (r2.cancelled() ? c : x) += 1;
    }(fifo.rd.get(), cancelled, other));
    (void)co_await aio::nop();
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(got == "hello");
  CHECK(cancelled == 1);
  CHECK(other == 0);
  CHECK((*rt)->inflight() == 0);
  rt->reset();
}

TEST_CASE("a ring not asked for SQPOLL is not set up with it") {
  aio::Ring ring;
  REQUIRE(ring.init({}).ok());
  CHECK((ring.setup_flags() & IORING_SETUP_SQPOLL) == 0);
}
