// What both blocking-pool strategies (pool-per-attempt, tokio-file) share:
// one "async runtime" thread hands jobs to a BlockingPool and takes their
// results, tagged with its own ids, from a CompletionQueue.
#pragma once

#include "blocking_pool.hpp"
#include "strategy.hpp"

#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace aiobench {

// Ids of a strategy's write and metadata jobs, apart from its reads'.
constexpr std::uint64_t kWriteTag = 1ull << 62;
constexpr std::uint64_t kStatTag = 1ull << 61;

// A syscall's return as the pool reports it: the value, or -errno.
inline long ret(long n) { return n < 0 ? -errno : n; }
// pwrite until all `n` bytes are written: bytes written, or -errno.
long pwrite_all(int fd, const char* p, std::size_t n, off_t at);

class PoolDriven : public Strategy {
public:
  explicit PoolDriven(const Options& o);
  ~PoolDriven() override;
  PoolDriven(const PoolDriven&) = delete;
  PoolDriven& operator=(const PoolDriven&) = delete;

  std::string unsupported(const std::string&) const override { return ""; }
  // Both models end as a dropped tokio Runtime does: it waits for every
  // blocking task, and a blocking read() cannot be interrupted.
  void shutdown(const ShutdownJob& job) override;

protected:
  // Runs `fn` (a syscall's result, see ret()) on a pool thread; the result
  // comes back tagged `id`.
  template <class Fn> void spawn(std::uint64_t id, Fn fn) {
    Shared* sh = sh_;
    sh_->pool.spawn([sh, id, fn = std::move(fn)] { sh->cq.push({id, fn()}); });
  }
  // fifo-latency's rounds, whatever a message's read and write are: the
  // initiator writes first and times each round trip, the echo side reads
  // and writes back. Latencies in µs (none on the echo side).
  template <class Read, class Write> static std::vector<double>
  ping_pong_rounds(const PingPongJob& job, Read read_msg, Write write_msg) {
    std::vector<double> lat;
    lat.reserve(job.rounds);
    for (unsigned i = 0; i < job.rounds; ++i) {
      double t0 = mono_us();
      if (!job.initiator && !read_msg()) break;
      if (!write_msg()) break;
      if (job.initiator) {
        if (!read_msg()) break;
        lat.push_back(mono_us() - t0);
      }
    }
    return lat;
  }
  // fs::metadata from another task: itself a spawn_blocking job, giving
  // the file's size (or -errno) under `id`, which it returns.
  std::uint64_t spawn_size(std::uint64_t id, int fd);
  // The pool as the notes describe it: cap and idle lifetime.
  std::string pool_model() const;
  // The next completion, whichever job it is (false after `timeout`;
  // negative: wait for ever). Not for use beside wait_for().
  bool pop(CompletionQueue::Done& d, std::chrono::microseconds timeout) {
    return sh_->cq.pop(d, timeout);
  }
  // Waits for job `id` until `deadline_us` (mono_us; negative: for ever);
  // completions of other jobs that arrive meanwhile are kept for their own
  // wait. False on timeout.
  bool wait_for(std::uint64_t id, double deadline_us, long& value);
  long wait_for(std::uint64_t id);
  // Whether job `id` has reported, without waiting (its result stays kept).
  bool finished(std::uint64_t id);

  // The pool's own counts, for the report.
  void pool_figures(StormOutcome& out);
  void pool_figures(ReadOutcome& out);
  // A pool thread is still blocked in read() and would hold the process for
  // ever at exit: let the process end around it (tokio's shutdown_background).
  void leak_on_exit() { leaked_ = true; }

  Options o_;

private:
  // Jobs point at this, so it lives as long as the pool's threads do.
  struct Shared {
    Shared(unsigned cap, std::chrono::milliseconds keep) : pool(cap, keep) {}
    CompletionQueue cq;
    BlockingPool pool; // declared last: destroyed (joined) first
  };
  Shared* sh_;
  bool leaked_ = false;
  std::unordered_map<std::uint64_t, long> early_; // completions not yet waited for
};

} // namespace aiobench
