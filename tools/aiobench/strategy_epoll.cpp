// A readiness loop on one thread: pipes and FIFOs are waited on with epoll
// and read without blocking, so losing a race costs nothing (no read was
// ever started). Regular files are always "ready" to epoll, so such a loop
// reads them with a blocking pread that stalls the loop.
#include "strategy.hpp"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <vector>

namespace aiobench {
namespace {

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {
    if (fd < 0) throw std::runtime_error("epoll/timerfd setup failed");
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

void watch(int ep, int fd, unsigned events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) throw std::runtime_error("epoll_ctl failed");
}

int wait_one(int ep) {
  epoll_event ev{};
  for (;;) {
    int n = epoll_wait(ep, &ev, 1, -1);
    if (n == 1) return ev.data.fd;
    if (n < 0 && errno != EINTR) return -1;
  }
}

// Reads exactly `len` bytes, waiting for readiness between tries.
bool read_exact(int ep, int fd, char* p, std::size_t len) {
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, p + got, len - got);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0) {
      return false;
    } else if (errno == EAGAIN) {
      if (wait_one(ep) < 0) return false;
    } else if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

class EpollStrategy final : public Strategy {
public:
  explicit EpollStrategy(const Options& o) : o_(o) {}
  std::string name() const override { return "epoll"; }
  std::string unsupported(const std::string& scenario) const override {
    (void)scenario;
    return "";
  }
  std::string model() const override {
    return "1 thread, epoll readiness; files by blocking pread";
  }

  StormOutcome cancel_storm(const StormJob& job) override {
    set_blocking(job.fd, false);
    Fd ep(epoll_create1(EPOLL_CLOEXEC));
    Fd tfd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    watch(ep.get(), job.fd, EPOLLIN);
    watch(ep.get(), tfd.get(), EPOLLIN);
    StormOutcome out;
    char buf[64];
    for (unsigned i = 0; i < job.rounds; ++i) {
      itimerspec its{};
      its.it_value.tv_sec = job.work.count() / 1'000'000;
      its.it_value.tv_nsec = (job.work.count() % 1'000'000) * 1000;
      timerfd_settime(tfd.get(), 0, &its, nullptr);
      for (;;) {
        int fd = wait_one(ep.get());
        if (fd == job.fd) {
          ssize_t n = ::read(job.fd, buf, sizeof buf);
          if (n <= 0) continue; // spurious readiness: keep waiting
          ++out.reads_won;
          itimerspec off{};
          timerfd_settime(tfd.get(), 0, &off, nullptr);
          std::uint64_t ticks;
          (void)!::read(tfd.get(), &ticks, sizeof ticks); // may have fired meanwhile
          break;
        }
        std::uint64_t ticks;
        if (::read(tfd.get(), &ticks, sizeof ticks) == sizeof ticks) {
          // The work won; no read was started, so nothing is left to cancel.
          ++out.reads_cancelled;
          break;
        }
      }
    }
    return out;
  }

  std::vector<double> ping_pong(const PingPongJob& job) override {
    set_blocking(job.rfd, false);
    set_blocking(job.wfd, false);
    Fd ep(epoll_create1(EPOLL_CLOEXEC));
    watch(ep.get(), job.rfd, EPOLLIN);
    std::vector<char> msg(job.msg, 'p'), in(job.msg);
    std::vector<double> lat;
    lat.reserve(job.rounds);
    for (unsigned i = 0; i < job.rounds; ++i) {
      double t0 = mono_us();
      if (!job.initiator && !read_exact(ep.get(), job.rfd, in.data(), in.size())) break;
      // A small message into an empty pipe never waits.
      if (::write(job.wfd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) break;
      if (job.initiator) {
        if (!read_exact(ep.get(), job.rfd, in.data(), in.size())) break;
        lat.push_back(mono_us() - t0);
      }
    }
    return lat;
  }

  ReadOutcome file_read(const ReadJob& job) override {
    // Readiness cannot apply to regular files: the blocking pread loop that
    // sync and the streaming pool run, on this one thread.
    std::atomic<std::uint64_t> seq{0};
    double t_start = mono_us();
    ReadOutcome out = pread_loop(job, 0, t_start, t_start + job.duration_s * 1e6, seq);
    out.elapsed_s = (mono_us() - t_start) / 1e6;
    return out;
  }

  VisOutcome write_visibility(const VisJob& job) override { return blocking_write_visibility(job); }

  void shutdown(const ShutdownJob& job) override {
    set_blocking(job.fifo_fd, false);
    set_blocking(job.control_fd, false);
    Fd ep(epoll_create1(EPOLL_CLOEXEC));
    watch(ep.get(), job.fifo_fd, EPOLLIN);
    watch(ep.get(), job.control_fd, EPOLLIN);
    char one = 'R';
    (void)!::write(job.ready_fd, &one, 1);
    while (wait_one(ep.get()) != job.control_fd) {
    }
    // Nothing was started on the FIFO: closing the loop is all it takes.
  }

private:
  Options o_;
};

} // namespace

std::unique_ptr<Strategy> make_epoll(const Options& o) {
  return std::make_unique<EpollStrategy>(o);
}

} // namespace aiobench
