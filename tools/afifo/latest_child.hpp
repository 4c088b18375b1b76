// One run of latest's COMMAND: a child process in its own process group,
// watched through a pidfd on the ring and always reaped.
#pragma once

#include "aio/result.hpp"
#include "aio/unique_fd.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace afifo::tee_latest {

class Child {
public:
  // Starts argv (PATH searched) with `stdin_fd` as its stdin (-1:
  // /dev/null), default signal dispositions and nothing blocked (this
  // process blocks SIGINT/SIGTERM for its signalfd, and a mask is
  // inherited), in a process group of its own so that stopping a run stops
  // what it started (a `sh -c` pipeline) too.
  static aio::Result<Child> spawn(const std::vector<std::string>& argv, int stdin_fd);

  Child(Child&& o) noexcept;
  Child& operator=(Child&&) = delete;
  // A child not reaped yet (only on an error path) is killed and reaped
  // here, blocking: never a zombie left behind.
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }
  // Sends `sig` to its process group (the child is not reaped yet, so its
  // pid cannot have been reused).
  void signal(int sig) const noexcept;
  // Once the pidfd is readable: collects the exit (waitid), giving the
  // status as a shell shows it (128 + N for a death by signal N).
  aio::Result<int> reap();

private:
  Child(pid_t pid, aio::UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  pid_t pid_ = -1;
  aio::UniqueFd pidfd_;
  bool reaped_ = false;
};

// argv with every "{}" in every argument replaced by `record`.
std::vector<std::string> substitute(const std::vector<std::string>& argv,
                                    const std::string& record);
// Whether some argument holds "{}" (the record goes there, not on stdin).
bool wants_substitution(const std::vector<std::string>& argv);

} // namespace afifo::tee_latest
