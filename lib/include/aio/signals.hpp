// Signals as I/O: SIGINT/SIGTERM are read from a signalfd through the ring
// and turn into a stop of the work they interrupt.
#pragma once

#include "aio/result.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <signal.h>

#include <initializer_list>

namespace aio {

class SignalSet {
public:
  // Blocks those of `signals` that are not ignored and opens a signalfd for
  // them. A signal ignored at start (a script's background job) stays
  // ignored: a blocked signal would reach the signalfd even with SIG_IGN.
  static Result<SignalSet> create(std::initializer_list<int> signals);
  SignalSet(SignalSet&& o) noexcept;
  SignalSet& operator=(SignalSet&&) = delete;
  ~SignalSet(); // restores the previous mask

  bool watching(int sig) const noexcept { return sigismember(&mask_, sig) == 1; }
  // The next signal's number. Waits forever (until stopped) if none is watched.
  Task<Result<int>> next();

private:
  SignalSet() = default;
  UniqueFd fd_;
  sigset_t mask_{};
  sigset_t old_{};
  bool owns_mask_ = false;
};

// Runs `body`; if SIGINT or SIGTERM comes first, stops it, waits for it to
// finish its cleanup, records the signal (see interrupted_by) and returns
// 128 + its number. Otherwise returns the body's own code.
Task<int> run_interruptible(Task<int> body);

// The signal that ended a run_interruptible on this process (0: none).
int interrupted_by() noexcept;

// Called by a tool's main once it has cleaned up (the Runtime destroyed):
// if a signal interrupted it, dies of that signal (default action restored,
// unblocked, raised), so that a parent shell sees a death by signal and
// stops a script as it does for cat or tail. An exit with 130 instead would
// make bash run the script's next line. Returns `code` otherwise.
int exit_status(int code) noexcept;

} // namespace aio
