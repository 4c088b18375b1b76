#include "blocking_pool.hpp"

#include <system_error>
#include <thread>

namespace aiobench {

BlockingPool::BlockingPool(unsigned cap, std::chrono::milliseconds keep_alive)
    : cap_(cap), keep_alive_(keep_alive) {}

BlockingPool::~BlockingPool() { shutdown_and_wait(); }

void BlockingPool::spawn(std::function<void()> job) {
  std::lock_guard lk(m_);
  q_.push_back(std::move(job));
  ++jobs_;
  if (idle_ > 0) {
    --idle_;
    ++wakeups_;
    work_cv_.notify_one();
    return;
  }
  if (live_ >= cap_) return; // waits in the queue, as tokio's does at the cap
  try {
    std::thread(&BlockingPool::worker, this).detach();
    ++live_;
    ++spawned_;
  } catch (const std::system_error&) {
    // Out of threads (RLIMIT_NPROC, memory): the job waits for a thread to
    // come free, which is what an exhausted pool does.
  }
}

void BlockingPool::worker() {
  std::unique_lock lk(m_);
  for (;;) {
    while (!q_.empty()) {
      auto job = std::move(q_.front());
      q_.pop_front();
      ++running_;
      lk.unlock();
      job();
      lk.lock();
      --running_;
    }
    if (shutdown_) break;
    ++idle_;
    bool woken = work_cv_.wait_for(lk, keep_alive_, [&] { return wakeups_ > 0 || shutdown_; });
    if (woken && wakeups_ > 0) {
      --wakeups_; // our idle_ slot was taken by the notifier
      continue;
    }
    --idle_;
    if (shutdown_ || q_.empty()) break; // shut down, or idle for keep_alive
  }
  --live_;
  exit_cv_.notify_all();
}

void BlockingPool::shutdown_and_wait() {
  std::unique_lock lk(m_);
  shutdown_ = true;
  q_.clear();
  work_cv_.notify_all();
  exit_cv_.wait(lk, [&] { return live_ == 0; });
}

unsigned BlockingPool::live_threads() {
  std::lock_guard lk(m_);
  return live_;
}

unsigned BlockingPool::queued() {
  std::lock_guard lk(m_);
  return static_cast<unsigned>(q_.size());
}

unsigned BlockingPool::running() {
  std::lock_guard lk(m_);
  return running_;
}

std::uint64_t BlockingPool::spawned_total() {
  std::lock_guard lk(m_);
  return spawned_;
}

std::uint64_t BlockingPool::jobs_total() {
  std::lock_guard lk(m_);
  return jobs_;
}

void CompletionQueue::push(Done d) {
  {
    std::lock_guard lk(m_);
    q_.push_back(d);
  }
  cv_.notify_one();
}

bool CompletionQueue::pop(Done& out, std::chrono::microseconds timeout) {
  std::unique_lock lk(m_);
  auto ready = [&] { return !q_.empty(); };
  if (timeout.count() < 0)
    cv_.wait(lk, ready);
  else if (!cv_.wait_for(lk, timeout, ready))
    return false;
  out = q_.front();
  q_.pop_front();
  return true;
}

} // namespace aiobench
