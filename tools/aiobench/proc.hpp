// Process facts from /proc: the thread, io-wq worker, memory and fd counts
// every scenario reports, and the host facts the JSON starts with.
#pragma once

#include <sys/types.h>

#include <string>

namespace aiobench {

struct TaskCounts {
  int user = 0;  // threads the program created (the main thread included)
  int iowq = 0;  // io_uring's kernel workers (iou-wrk-*), tasks of the same process
  int other = 0; // the SQPOLL ring's kernel thread (iou-sqp-*)
};

// pid 0 means this process. Missing process: all zero.
TaskCounts task_counts(pid_t pid = 0);
long rss_kib(pid_t pid = 0);
long rss_peak_kib(pid_t pid = 0); // VmHWM
int fd_count(pid_t pid = 0);

std::string kernel_release();
std::string fs_type(const std::string& dir);
unsigned cpu_count(); // CPUs this process may run on

} // namespace aiobench
