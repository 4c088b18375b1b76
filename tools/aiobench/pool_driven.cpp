#include "pool_driven.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace aiobench {

long pwrite_all(int fd, const char* p, std::size_t n, off_t at) {
  std::size_t done = 0;
  while (done < n) {
    long r = ret(::pwrite(fd, p + done, n - done, at + static_cast<off_t>(done)));
    if (r < 0) return r;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<long>(done);
}

PoolDriven::PoolDriven(const Options& o)
    : o_(o),
      sh_(new Shared(o.pool_cap,
                     std::chrono::milliseconds(static_cast<long>(o.pool_keepalive_s * 1000)))) {}

PoolDriven::~PoolDriven() {
  // A thread still blocked in read() would hold the process for ever; the
  // scenario has its figures, so the process ends around it.
  if (!leaked_) delete sh_;
}

void PoolDriven::shutdown(const ShutdownJob& job) {
  set_blocking(job.fifo_fd, true);
  set_blocking(job.control_fd, true);
  int fd = job.fifo_fd;
  spawn(0, [fd] {
    char b[64];
    return ret(::read(fd, b, sizeof b));
  });
  char one = 'R';
  (void)!::write(job.ready_fd, &one, 1);
  char b;
  (void)!::read(job.control_fd, &b, 1);
  sh_->pool.shutdown_and_wait();
}

std::uint64_t PoolDriven::spawn_size(std::uint64_t id, int fd) {
  spawn(id, [fd] {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<long>(st.st_size) : -errno;
  });
  return id;
}

std::string PoolDriven::pool_model() const {
  return "1 driver thread + a blocking pool (cap " + std::to_string(o_.pool_cap) +
         ", idle threads kept " + std::to_string(static_cast<int>(o_.pool_keepalive_s)) + " s)";
}

bool PoolDriven::wait_for(std::uint64_t id, double deadline_us, long& value) {
  for (;;) {
    if (auto it = early_.find(id); it != early_.end()) {
      value = it->second;
      early_.erase(it);
      return true;
    }
    CompletionQueue::Done d{};
    if (deadline_us < 0) {
      sh_->cq.pop(d, std::chrono::microseconds(-1));
    } else {
      double left = deadline_us - mono_us();
      if (left <= 0 || !sh_->cq.pop(d, std::chrono::microseconds(static_cast<long>(left))))
        return false;
    }
    early_[d.id] = d.value;
  }
}

long PoolDriven::wait_for(std::uint64_t id) {
  long v = 0;
  wait_for(id, -1, v);
  return v;
}

bool PoolDriven::finished(std::uint64_t id) {
  CompletionQueue::Done d{};
  while (sh_->cq.pop(d, std::chrono::microseconds(0)))
    early_[d.id] = d.value;
  return early_.count(id) != 0;
}

void PoolDriven::pool_figures(StormOutcome& out) {
  out.pool_queued = sh_->pool.queued();
  out.pool_running = sh_->pool.running();
  out.pool_spawned = sh_->pool.spawned_total();
}

void PoolDriven::pool_figures(ReadOutcome& out) {
  out.pool_jobs = sh_->pool.jobs_total();
  out.pool_threads = sh_->pool.spawned_total();
}

} // namespace aiobench
