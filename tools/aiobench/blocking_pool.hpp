// A model of the blocking pool tokio (spawn_blocking, fs::File) and
// async-std use for file I/O: a queue of jobs served by threads that are
// spawned on demand up to a cap (tokio's default: 512) and kept 10 s when
// idle. A job cannot be taken back once a thread runs it: "cancelling" means
// the caller stops waiting for its result while the thread stays busy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace aiobench {

class BlockingPool {
public:
  BlockingPool(unsigned cap, std::chrono::milliseconds keep_alive);
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;
  // Waits for every thread, like dropping a tokio Runtime: a thread blocked
  // in read() keeps the process from ending until its read returns.
  ~BlockingPool();

  void spawn(std::function<void()> job);
  void shutdown_and_wait();
  unsigned live_threads();
  unsigned queued();
  unsigned running(); // threads inside a job now (a blocked read among them)
  std::uint64_t spawned_total();
  std::uint64_t jobs_total(); // every job ever handed to spawn()

private:
  void worker();

  std::mutex m_;
  std::condition_variable work_cv_;
  std::condition_variable exit_cv_;
  std::deque<std::function<void()>> q_;
  unsigned cap_;
  std::chrono::milliseconds keep_alive_;
  unsigned live_ = 0;
  unsigned running_ = 0;
  unsigned idle_ = 0;    // waiting and not yet promised a job
  unsigned wakeups_ = 0; // promised jobs not yet taken
  std::uint64_t spawned_ = 0;
  std::uint64_t jobs_ = 0;
  bool shutdown_ = false;
};

// Where pool jobs report back to the one "async runtime" thread that drives
// them: results tagged with the caller's id, taken in completion order.
class CompletionQueue {
public:
  struct Done {
    std::uint64_t id;
    long value; // the syscall's return, or -errno
  };
  void push(Done d);
  // Waits up to `timeout` (forever if negative) for the next completion.
  bool pop(Done& out, std::chrono::microseconds timeout);

private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Done> q_;
};

} // namespace aiobench
