// Every measurement runs in a forked child process, so the threads, io-wq
// workers, fds and memory one strategy leaves behind cannot be charged to
// the next one, and so the parent can sample the child from /proc without
// adding a thread to it (a sampler thread would spoil uring's "1 thread").
#pragma once

#include "figures.hpp"
#include "proc.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace aiobench {

// Thrown in a child when its strategy cannot run on this host (io_uring
// denied): the row is marked unavailable with the reason, not failed.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The child's side: figures go to the parent as text lines over a pipe.
class Emitter {
public:
  explicit Emitter(int fd) : fd_(fd) {}
  void figure(const std::string& key, double v);
  void note(const std::string& text);
  void series(const std::string& name, const std::vector<double>& x, const std::vector<double>& y);
  void error(const std::string& text);
  void unavailable(const std::string& why);
  // The process figures every scenario reports, measured by the child itself
  // at its end (after its own cleanup), so "at end" means what it says.
  void process_end();

private:
  void line(const std::string& s);
  int fd_;
};

struct Child {
  pid_t pid = -1;
  int result_fd = -1; // parent's read end; -1 if the child reports nothing
};

// Forks; the child runs `body`, then _exit(0) (1 if it threw; the message is
// sent as an error). _exit, not exit: a thread-pool child may still have
// threads blocked in read(), exactly what is being shown, and must not wait.
Child spawn_child(const std::function<void(Emitter&)>& body);

struct Sampled {
  TaskCounts peak;
  long rss_peak_kib = 0;
  Series user_threads{"user_threads", {}, {}};
  Series iowq_workers{"iowq_workers", {}, {}};
};

// Reads `c`'s report into `row` while sampling `watch` (c.pid included)
// every `every`; kills everything still running after `limit`. Adds the
// *_peak figures (the maximum of the samples and the child's own end
// figures; sqpoll_threads_peak: iou-sqp threads). Returns false when the
// child failed (row.note says why). With keep_series, the thread series
// keeps at most one point per `series_every` (0: every sample).
bool collect(Child c, const std::vector<pid_t>& watch, Row& row, std::chrono::milliseconds every,
             std::chrono::milliseconds limit, bool keep_series,
             std::chrono::milliseconds series_every = std::chrono::milliseconds(0));

// Reads what a child that has ended left in `fd` into `row` (figures, notes,
// an unavailable reason); for scenarios that do not collect().
void read_leftovers(int fd, Row& row);

// Waits for `pid`; gives its wait status, or -1 if it did not end within `limit`.
int wait_for_exit(pid_t pid, std::chrono::milliseconds limit);

double now_s(); // CLOCK_MONOTONIC seconds
// True once SIGINT/SIGTERM arrived: measurements stop and children are killed.
bool interrupted();
// The signal that interrupted the run (0: none).
int interrupted_signal();

} // namespace aiobench
