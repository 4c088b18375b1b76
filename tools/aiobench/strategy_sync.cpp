// Plain blocking syscalls: the floor every other strategy is measured
// against. At depth N it is N threads each in its own pread loop, which is
// what fio's psync engine does with numjobs=N.
#include "strategy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace aiobench {
namespace {

bool read_exact(int fd, char* p, std::size_t len) {
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, p + got, len - got);
    if (n > 0)
      got += static_cast<std::size_t>(n);
    else if (n == 0 || errno != EINTR)
      return false;
  }
  return true;
}

class SyncStrategy final : public Strategy {
public:
  explicit SyncStrategy(const Options& o) : o_(o) {}
  std::string name() const override { return "sync"; }
  std::string unsupported(const std::string& scenario) const override {
    if (scenario == "cancel-storm")
      return "a blocking read cannot be raced against other work: each round would wait for the "
             "writer";
    return "";
  }
  std::string model() const override { return "blocking syscalls; depth N = N threads"; }

  StormOutcome cancel_storm(const StormJob&) override { return {}; }

  std::vector<double> ping_pong(const PingPongJob& job) override {
    set_blocking(job.rfd, true);
    set_blocking(job.wfd, true);
    std::vector<char> msg(job.msg, 'p'), in(job.msg);
    std::vector<double> lat;
    lat.reserve(job.rounds);
    for (unsigned i = 0; i < job.rounds; ++i) {
      double t0 = mono_us();
      if (!job.initiator && !read_exact(job.rfd, in.data(), in.size())) break;
      if (::write(job.wfd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) break;
      if (job.initiator) {
        if (!read_exact(job.rfd, in.data(), in.size())) break;
        lat.push_back(mono_us() - t0);
      }
    }
    return lat;
  }

  ReadOutcome file_read(const ReadJob& job) override {
    ReadOutcome out;
    std::mutex m;
    std::atomic<std::uint64_t> seq_shared{0};
    double t_start = mono_us();
    double deadline = t_start + job.duration_s * 1e6;
    auto loop = [&](unsigned id) {
      ReadOutcome mine = pread_loop(job, id, t_start, deadline, seq_shared);
      std::lock_guard lk(m);
      out.ops += mine.ops;
      out.bytes += mine.bytes;
      out.errors += mine.errors;
      out.lat_us.insert(out.lat_us.end(), mine.lat_us.begin(), mine.lat_us.end());
    };
    if (job.depth == 1) {
      loop(0);
    } else {
      std::vector<std::thread> threads;
      for (unsigned i = 0; i < job.depth; ++i)
        threads.emplace_back(loop, i);
      for (auto& t : threads)
        t.join();
    }
    out.elapsed_s = (mono_us() - t_start) / 1e6;
    return out;
  }

  VisOutcome write_visibility(const VisJob& job) override { return blocking_write_visibility(job); }

  void shutdown(const ShutdownJob& job) override {
    set_blocking(job.fifo_fd, true);
    char one = 'R';
    (void)!::write(job.ready_fd, &one, 1);
    // The one thread is inside read(): the exit request is never even seen.
    char b[64];
    while (::read(job.fifo_fd, b, sizeof b) < 0 && errno == EINTR) {
    }
  }

private:
  Options o_;
};

} // namespace

std::unique_ptr<Strategy> make_sync(const Options& o) { return std::make_unique<SyncStrategy>(o); }

} // namespace aiobench
