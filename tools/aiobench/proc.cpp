#include "proc.hpp"

#include <dirent.h>
#include <sched.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace aiobench {
namespace {

std::string proc_dir(pid_t pid) {
  return pid == 0 ? std::string("/proc/self") : "/proc/" + std::to_string(pid);
}

long status_field(pid_t pid, const char* key) {
  std::ifstream f(proc_dir(pid) + "/status");
  std::string k;
  while (f >> k) {
    if (k == key) {
      long v = -1;
      f >> v;
      return v;
    }
    std::getline(f, k);
  }
  return -1;
}

} // namespace

TaskCounts task_counts(pid_t pid) {
  TaskCounts c;
  std::string base = proc_dir(pid) + "/task";
  DIR* d = opendir(base.c_str());
  if (d == nullptr) return c;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    // The name (iou-wrk-*) is set by a worker itself once it runs, so one
    // just created still carries our name; PF_IO_WORKER in its stat flags
    // is there from its creation. Both are checked.
    char stat[1024] = {};
    std::string path = base + "/" + e->d_name + "/stat";
    if (FILE* f = std::fopen(path.c_str(), "re")) {
      if (std::fgets(stat, sizeof stat, f) == nullptr) stat[0] = '\0';
      std::fclose(f);
    }
    const char* rp = std::strrchr(stat, ')');
    const char* comm = std::strchr(stat, '(');
    if (rp == nullptr || comm == nullptr) continue; // gone meanwhile
    ++comm;
    unsigned long flags = 0;
    // After "(comm)": state ppid pgrp session tty_nr tpgid flags.
    std::sscanf(rp + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags);
    constexpr unsigned long kPfIoWorker = 0x10;
    bool io_thread = (flags & kPfIoWorker) != 0 || std::strncmp(comm, "iou-wrk-", 8) == 0;
    if (io_thread && std::strncmp(comm, "iou-sqp-", 8) == 0)
      ++c.other;
    else if (io_thread)
      ++c.iowq;
    else
      ++c.user;
  }
  closedir(d);
  return c;
}

long rss_kib(pid_t pid) { return status_field(pid, "VmRSS:"); }
long rss_peak_kib(pid_t pid) { return status_field(pid, "VmHWM:"); }

int fd_count(pid_t pid) {
  std::string base = proc_dir(pid) + "/fd";
  DIR* d = opendir(base.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return pid == 0 ? n - 1 : n; // our own opendir holds one
}

std::string kernel_release() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return u.release;
}

std::string fs_type(const std::string& dir) {
  struct statfs s {};
  if (statfs(dir.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
  case 0xEF53: return "ext4";
  case 0x01021994: return "tmpfs";
  case 0x58465342: return "xfs";
  case 0x9123683E: return "btrfs";
  case 0x794c7630: return "overlayfs";
  case 0x6969: return "nfs";
  case 0x2FC12FC1: return "zfs";
  case 0xF2F52010: return "f2fs";
  default: {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(s.f_type));
    return buf;
  }
  }
}

unsigned cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<unsigned>(CPU_COUNT(&set));
}

} // namespace aiobench
