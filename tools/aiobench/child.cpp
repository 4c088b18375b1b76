#include "child.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>

namespace aiobench {

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void Emitter::line(const std::string& s) {
  std::string l = s + "\n";
  const char* p = l.data();
  std::size_t left = l.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; // the parent is gone; nobody to tell
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void Emitter::figure(const std::string& key, double v) {
  line(fmt::format("f {} {:.17g}", key, v));
}

void Emitter::note(const std::string& text) {
  std::string t = text;
  for (char& ch : t)
    if (ch == '\n') ch = ' ';
  line("n " + t);
}

void Emitter::error(const std::string& text) {
  std::string t = text;
  for (char& ch : t)
    if (ch == '\n') ch = ' ';
  line("e " + t);
}

void Emitter::unavailable(const std::string& why) {
  std::string t = why;
  for (char& ch : t)
    if (ch == '\n') ch = ' ';
  line("u " + t);
}

void Emitter::series(const std::string& name, const std::vector<double>& x,
                     const std::vector<double>& y) {
  std::string s = fmt::format("s {} {}", name, x.size());
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    s += fmt::format(" {:.9g} {:.9g}", x[i], y[i]);
  line(s);
}

void Emitter::process_end() {
  TaskCounts t = task_counts();
  figure("user_threads_end", t.user);
  figure("iowq_workers_end", t.iowq);
  figure("rss_kib_end", static_cast<double>(rss_kib()));
  figure("rss_kib_peak", static_cast<double>(rss_peak_kib()));
  figure("fds_end", fd_count());
}

Child spawn_child(const std::function<void(Emitter&)>& body) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {};
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return {};
  }
  if (pid == 0) {
    ::close(p[0]);
    Emitter em(p[1]);
    int code = 0;
    try {
      body(em);
    } catch (const Unavailable& e) {
      em.unavailable(e.what());
    } catch (const std::exception& e) {
      em.error(e.what());
      code = 1;
    }
    std::fflush(nullptr);
    _exit(code);
  }
  ::close(p[1]);
  return {pid, p[0]};
}

namespace {

void parse_line(const std::string& l, Row& row, bool keep_series, std::string& error) {
  if (l.size() < 2) return;
  std::string rest = l.substr(2);
  switch (l[0]) {
  case 'f': {
    auto sp = rest.find(' ');
    if (sp == std::string::npos) return;
    row.set(rest.substr(0, sp), std::strtod(rest.c_str() + sp + 1, nullptr));
    break;
  }
  case 'n': row.note = row.note.empty() ? rest : row.note + "; " + rest; break;
  case 'e': error = rest; break;
  case 'u':
    row.unavailable = true;
    row.skipped = true;
    row.note = "unavailable: " + rest;
    break;
  case 's': {
    if (!keep_series) return;
    std::istringstream in(rest);
    Series s;
    std::size_t n = 0;
    in >> s.name >> n;
    for (std::size_t i = 0; i < n; ++i) {
      double x = 0, y = 0;
      in >> x >> y;
      s.x.push_back(x);
      s.y.push_back(y);
    }
    row.series.push_back(std::move(s));
    break;
  }
  default: break;
  }
}

} // namespace

void read_leftovers(int fd, Row& row) {
  std::string buf, error;
  char tmp[4096];
  pollfd pfd{fd, POLLIN, 0};
  while (poll(&pfd, 1, 0) == 1) {
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  std::size_t nl;
  while ((nl = buf.find('\n')) != std::string::npos) {
    parse_line(buf.substr(0, nl), row, false, error);
    buf.erase(0, nl + 1);
  }
}

int wait_for_exit(pid_t pid, std::chrono::milliseconds limit) {
  double end = now_s() + static_cast<double>(limit.count()) / 1000.0;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0 && errno != EINTR) return 0;
    if (now_s() >= end) return -1;
    timespec ts{0, 200'000};
    nanosleep(&ts, nullptr);
  }
}

bool collect(Child c, const std::vector<pid_t>& watch, Row& row, std::chrono::milliseconds every,
             std::chrono::milliseconds limit, bool keep_series,
             std::chrono::milliseconds series_every) {
  if (c.pid < 0) {
    row.note = "could not start a child process";
    row.skipped = true;
    return false;
  }
  Sampled s;
  double t0 = now_s();
  double deadline = t0 + static_cast<double>(limit.count()) / 1000.0;
  std::string buf, error;
  bool timed_out = false;
  auto sample = [&] {
    TaskCounts sum_max;
    for (pid_t p : watch) {
      TaskCounts t = task_counts(p);
      if (t.user + t.iowq + t.other == 0) continue; // gone
      sum_max.user = std::max(sum_max.user, t.user);
      sum_max.iowq = std::max(sum_max.iowq, t.iowq);
      sum_max.other = std::max(sum_max.other, t.other);
      s.rss_peak_kib = std::max(s.rss_peak_kib, rss_kib(p));
    }
    if (sum_max.user + sum_max.iowq + sum_max.other == 0) return;
    s.peak.user = std::max(s.peak.user, sum_max.user);
    s.peak.iowq = std::max(s.peak.iowq, sum_max.iowq);
    s.peak.other = std::max(s.peak.other, sum_max.other);
    // Peaks take every sample; the series only one per series_every, so
    // a fast sampler does not swell the JSON.
    const double t = now_s() - t0;
    if (!s.user_threads.x.empty() &&
        t - s.user_threads.x.back() < static_cast<double>(series_every.count()) / 1000.0)
      return;
    s.user_threads.x.push_back(now_s() - t0);
    s.user_threads.y.push_back(sum_max.user);
    s.iowq_workers.x.push_back(now_s() - t0);
    s.iowq_workers.y.push_back(sum_max.iowq);
  };
  for (;;) {
    sample();
    pollfd pfd{c.result_fd, POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(every.count()));
    if (r > 0) {
      char tmp[65536];
      ssize_t n = ::read(c.result_fd, tmp, sizeof tmp);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(tmp, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        parse_line(buf.substr(0, nl), row, keep_series, error);
        buf.erase(0, nl + 1);
      }
    }
    if (now_s() > deadline || interrupted()) {
      timed_out = true;
      break;
    }
  }
  ::close(c.result_fd);
  for (pid_t p : watch) {
    if (wait_for_exit(p, timed_out ? std::chrono::milliseconds(0)
                                   : std::chrono::milliseconds(5000)) == -1) {
      kill(p, SIGKILL);
      (void)wait_for_exit(p, std::chrono::milliseconds(5000));
    }
  }
  row.set("user_threads_peak", std::max<double>(s.peak.user, row.get_or("user_threads_end", 0)));
  row.set("iowq_workers_peak", std::max<double>(s.peak.iowq, row.get_or("iowq_workers_end", 0)));
  row.set("sqpoll_threads_peak", s.peak.other);
  if (row.get("rss_kib_peak"))
    row.set("rss_kib_peak", std::max<double>(row.get_or("rss_kib_peak", 0), s.rss_peak_kib));
  if (keep_series) {
    row.series.push_back(std::move(s.user_threads));
    row.series.push_back(std::move(s.iowq_workers));
  }
  if (timed_out) error = fmt::format("did not finish within {} ms", limit.count());
  if (row.unavailable && !timed_out) return true;
  if (!error.empty()) {
    row.note = row.note.empty() ? "failed: " + error : row.note + "; failed: " + error;
    row.failed = true;
    return false;
  }
  return true;
}

} // namespace aiobench
