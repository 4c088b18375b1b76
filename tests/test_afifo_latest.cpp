// afifo latest's logic: keeping the newest record, {} substitution, and a
// child that starts with a clean signal state and is always reaped.
#include "latest.hpp"
#include "latest_child.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

using namespace afifo::tee_latest;

namespace {
std::span<const std::byte> b(const std::string& s) { return std::as_bytes(std::span(s)); }

// A field of /proc/PID/status, e.g. "SigBlk".
std::string status_field(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 2);
  return "";
}

// The pidfd poll, without a ring: blocks until the child has exited.
void wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 30000) == 1);
}
} // namespace

TEST_CASE("the newest whole record wins; a partial one waits for its end") {
  LatestRecord r(Framing::Line);
  CHECK_FALSE(r.feed(b("fir")));
  CHECK(r.feed(b("st\nsecond\nthi")));
  CHECK(r.take() == "second\n");
  CHECK_FALSE(r.has());
  CHECK(r.feed(b("rd\n")));
  CHECK(r.take() == "third\n");
  CHECK_FALSE(r.feed(b("last")));
  CHECK(r.finish());
  CHECK(r.take() == "last");
  CHECK_FALSE(r.finish());
}

TEST_CASE("a record longer than the limit is skipped, and the next one is whole") {
  LatestRecord r(Framing::Line);
  const std::string big(1 << 20, 'x');
  for (std::size_t n = 0; n <= kMaxLatestRecord; n += big.size())
    CHECK_FALSE(r.feed(b(big)));
  CHECK(r.skipped_long() == 1);
  CHECK_FALSE(r.feed(b("tail of the long one\n")));
  CHECK(r.feed(b("next\n")));
  CHECK(r.take() == "next\n");
}

TEST_CASE("{} is replaced in every argument, everywhere it appears") {
  const std::vector<std::string> argv{"echo", "{}", "a{}b{}", "plain"};
  CHECK(wants_substitution(argv));
  CHECK_FALSE(wants_substitution({"cat", "-"}));
  CHECK(substitute(argv, "R") == std::vector<std::string>{"echo", "R", "aRbR", "plain"});
}

TEST_CASE("a child starts with nothing blocked and default dispositions, in its own group") {
  // As under run_interruptible: SIGINT/SIGTERM blocked, SIGPIPE ignored.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
  auto old_pipe = signal(SIGPIPE, SIG_IGN);
  auto c = Child::spawn({"sleep", "30"}, -1);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  signal(SIGPIPE, old_pipe);
  REQUIRE(c.ok());
  CHECK(status_field(c->pid(), "SigBlk") == "0000000000000000");
  // Standard signals only: glibc keeps 32 and 33 for itself (posix_spawn
  // cannot reset them, and this environment may have them ignored).
  const auto ignored = std::stoull(status_field(c->pid(), "SigIgn"), nullptr, 16);
  CHECK((ignored & 0x7fffffffULL) == 0);
  CHECK(getpgid(c->pid()) == c->pid());
  c->signal(SIGTERM);
  wait_readable(c->pidfd());
  auto st = c->reap();
  REQUIRE(st.ok());
  CHECK(*st == 128 + SIGTERM);
  CHECK(kill(c->pid(), 0) == -1); // reaped: no zombie left
}

TEST_CASE("a child's exit status comes back as a shell shows it") {
  auto c = Child::spawn({"sh", "-c", "exit 42"}, -1);
  REQUIRE(c.ok());
  wait_readable(c->pidfd());
  CHECK(c->reap().value() == 42);
}

TEST_CASE("a child dropped before its exit was collected is killed and reaped") {
  pid_t pid = -1;
  {
    auto c = Child::spawn({"sleep", "30"}, -1);
    REQUIRE(c.ok());
    pid = c->pid();
  }
  CHECK(kill(pid, 0) == -1);
  CHECK(errno == ESRCH);
}

TEST_CASE("a command that does not exist is an error, not a child") {
  auto c = Child::spawn({"/nonexistent/command"}, -1);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error() == std::errc::no_such_file_or_directory);
  siginfo_t info{};
  CHECK(waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == -1); // nothing left to reap
}
