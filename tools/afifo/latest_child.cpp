#include "latest_child.hpp"

#include "aio/pidfd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace afifo::tee_latest {

namespace {
// posix_spawn's attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};
} // namespace

aio::Result<Child> Child::spawn(const std::vector<std::string>& argv, int stdin_fd) {
  if (argv.empty()) return aio::errno_code(EINVAL);
  SpawnSetup s;
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawnattr_setpgroup(&s.attr, 0);
  posix_spawnattr_setflags(&s.attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  if (stdin_fd >= 0)
    posix_spawn_file_actions_adddup2(&s.actions, stdin_fd, 0);
  else
    posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (int e = posix_spawnp(&pid, args[0], &s.actions, &s.attr, args.data(), environ); e != 0)
    return aio::errno_code(e);
  auto fd = aio::pidfd_open(pid);
  if (!fd) {
    // Cannot watch it: do not leave it running nor a zombie.
    ::kill(-pid, SIGKILL);
    siginfo_t info{};
    waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
    return fd.error();
  }
  return Child(pid, std::move(*fd));
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)),
      reaped_(std::exchange(o.reaped_, true)) {}

Child::~Child() {
  if (pid_ < 0 || reaped_) return;
  ::kill(-pid_, SIGKILL);
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED) != 0 && errno == EINTR) {
  }
}

void Child::signal(int sig) const noexcept {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, sig);
}

aio::Result<int> Child::reap() {
  siginfo_t info{};
  for (;;) {
    if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED) ==
        0)
      break;
    if (errno == EINTR) continue;
    if (errno != EINVAL) return aio::errno_code(errno);
    // A kernel without P_PIDFD (before 5.4).
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED) == 0) break;
    if (errno != EINTR) return aio::errno_code(errno);
  }
  reaped_ = true;
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;
}

std::vector<std::string> substitute(const std::vector<std::string>& argv,
                                    const std::string& record) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const std::string& a : argv) {
    std::string s;
    std::size_t at = 0;
    for (std::size_t p; (p = a.find("{}", at)) != std::string::npos; at = p + 2) {
      s.append(a, at, p - at);
      s += record;
    }
    s.append(a, at, std::string::npos);
    out.push_back(std::move(s));
  }
  return out;
}

bool wants_substitution(const std::vector<std::string>& argv) {
  for (const std::string& a : argv)
    if (a.find("{}") != std::string::npos) return true;
  return false;
}

} // namespace afifo::tee_latest
