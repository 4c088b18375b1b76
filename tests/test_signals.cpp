// Signals are I/O: a process blocked on a silent FIFO dies of SIGINT/SIGTERM at once,
// with one thread; a signal ignored at start stays ignored.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>

#ifndef FIFO_BLOCK_PATH
#error "FIFO_BLOCK_PATH must name the helper program"
#endif

extern char** environ;

namespace {

struct Child {
  pid_t pid = -1;
  aio::UniqueFd out;
};

// Starts the helper in its own process group with SIGINT/SIGTERM at their
// defaults unless `keep_ignored` (then an ignored SIGINT is inherited).
Child spawn_helper(const std::string& fifo, bool sigint_ignored, int parked = 0) {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGTERM);
  if (!sigint_ignored) sigaddset(&def, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  auto old = signal(SIGINT, sigint_ignored ? SIG_IGN : SIG_DFL);
  std::string prog = FIFO_BLOCK_PATH;
  std::string count = std::to_string(parked);
  char* argv[] = {prog.data(), const_cast<char*>(fifo.c_str()), parked > 0 ? count.data() : nullptr,
                  nullptr};
  Child c;
  int rc = posix_spawn(&c.pid, prog.c_str(), &fa, &attr, argv, environ);
  signal(SIGINT, old);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(p[1]);
  REQUIRE(rc == 0);
  c.out.reset(p[0]);
  return c;
}

bool wait_ready(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, 10000) != 1) return false;
  char buf[16] = {};
  return ::read(fd, buf, sizeof buf) > 0 && std::string(buf).starts_with("ready");
}

// Waits up to `limit` for the child; gives its status and the time it took.
std::pair<int, double> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto t0 = std::chrono::steady_clock::now();
  int status = -1;
  while (std::chrono::steady_clock::now() - t0 < limit) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return {
          status,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()};
    usleep(200);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return {-1, 1e9};
}

int threads_of(pid_t pid) {
  return test::count_entries(("/proc/" + std::to_string(pid) + "/task").c_str());
}

} // namespace

TEST_CASE("SIGINT kills a process blocked on a silent FIFO by SIGINT at once, one thread") {
  test::TempDir dir;
  auto fifo = dir.fifo("f");
  std::vector<double> ms;
  for (int i = 0; i < 3; ++i) {
    Child c = spawn_helper(fifo, false);
    REQUIRE(wait_ready(c.out.get()));
    CHECK(threads_of(c.pid) == 1);
    REQUIRE(kill(c.pid, SIGINT) == 0);
    auto [status, took] = wait_exit(c.pid, std::chrono::seconds(5));
    // A death by the signal, not exit(130): bash stops a script only then.
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGINT);
    ms.push_back(took);
  }
  std::sort(ms.begin(), ms.end());
  MESSAGE("exit after SIGINT, median ms: " << ms[1]);
  // A few ms when idle; the bound only has to tell an answer from none
  // (5 s), on a machine loaded by whatever runs beside the suite.
  CHECK(ms[1] < 1000.0);
}

TEST_CASE("SIGINT is answered with 10,000 FIFO reads pending") {
  // Its signalfd read is issued beside them, not queued behind them.
  test::TempDir dir;
  auto fifo = dir.fifo("f");
  Child c = spawn_helper(fifo, false, 10'000);
  REQUIRE(wait_ready(c.out.get()));
  CHECK(threads_of(c.pid) == 1);
  REQUIRE(kill(c.pid, SIGINT) == 0);
  auto [status, took] = wait_exit(c.pid, std::chrono::seconds(30));
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
  MESSAGE("exit after SIGINT with 10,000 reads pending, ms: " << took);
  // Starved behind the reads (the naive design) it is never answered: the
  // wait above ends at 30 s. Answered, it takes 13-30 ms on an idle 2-vCPU
  // VM, 250 ms with two compilers beside it, and an unoptimised ASan build
  // on the readiness backend took 2.3 s on that loaded machine (cancelling
  // 10,000 operations alone is ~0.5 s there). The bound tells an answer
  // from none without timing the machine.
  CHECK(took < 15000.0);
}

TEST_CASE("SIGTERM kills it by SIGTERM") {
  test::TempDir dir;
  auto fifo = dir.fifo("f");
  Child c = spawn_helper(fifo, false);
  REQUIRE(wait_ready(c.out.get()));
  REQUIRE(kill(c.pid, SIGTERM) == 0);
  auto [status, took] = wait_exit(c.pid, std::chrono::seconds(5));
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
}

TEST_CASE("a SIGINT ignored at start stays ignored, SIGTERM still works") {
  test::TempDir dir;
  auto fifo = dir.fifo("f");
  Child c = spawn_helper(fifo, true);
  REQUIRE(wait_ready(c.out.get()));
  REQUIRE(kill(c.pid, SIGINT) == 0);
  auto [status, took] = wait_exit(c.pid, std::chrono::milliseconds(200));
  CHECK(status == -1); // still running after SIGINT, so it was killed by us
}

TEST_CASE("SignalSet delivers a raised signal through the ring") {
  auto rt = test::make_runtime();
  auto sig = rt->block_on([]() -> aio::Task<aio::Result<int>> {
    auto set = aio::SignalSet::create({SIGUSR1});
    REQUIRE(set.ok());
    REQUIRE(set->watching(SIGUSR1));
    raise(SIGUSR1);
    co_return co_await set->next();
  }());
  REQUIRE(sig.ok());
  CHECK(*sig == SIGUSR1);
}
