// pool-per-attempt: async Rust's file I/O on a blocking thread pool (tokio's
// spawn_blocking pool: threads on demand up to a cap, kept when idle), where
// every attempt is a new blocking job (spawn_blocking, or a File opened
// afresh, per receive() under select!). Losing a race drops the JoinHandle:
// the job keeps its thread until data comes and whatever it reads then is
// lost -- the thread leak of the original report. Writes are awaited. In
// file-read a job is one read or, with --pool-job stream, a loop of reads
// (one spawn_blocking around the loop). tokio-file, the other pool model,
// is in strategy_tokio_file.cpp.
#include "pool_driven.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <unordered_set>
#include <vector>

namespace aiobench {
namespace {

class PoolPerAttempt final : public PoolDriven {
public:
  using PoolDriven::PoolDriven;
  std::string name() const override { return "pool-per-attempt"; }
  std::string model() const override {
    return pool_model() +
           "; a new blocking job per attempt, abandoned when the race is lost; file-read: " +
           pool_job_shape(o_.pool_job);
  }

  StormOutcome cancel_storm(const StormJob& job) override {
    set_blocking(job.fd, true);
    StormOutcome out;
    std::unordered_set<std::uint64_t> abandoned;
    auto settle = [&](const CompletionQueue::Done& d) {
      if (abandoned.erase(d.id) != 0 && d.value > 0)
        out.bytes_lost += static_cast<std::uint64_t>(d.value);
    };
    int fd = job.fd;
    for (unsigned i = 0; i < job.rounds; ++i) {
      std::uint64_t id = i;
      spawn(id, [fd] {
        char b[64];
        return ret(::read(fd, b, sizeof b));
      });
      // select! { read, sleep(work) }: wait for this read until the work is done.
      double end = mono_us() + static_cast<double>(job.work.count());
      bool ended = false;
      CompletionQueue::Done d{};
      for (double left; (left = end - mono_us()) > 0;) {
        if (!pop(d, std::chrono::microseconds(static_cast<long>(left)))) break;
        if (d.id == id) {
          ended = true;
          break;
        }
        settle(d);
      }
      if (ended && d.value > 0) {
        ++out.reads_won;
      } else if (!ended) {
        ++out.reads_abandoned;
        abandoned.insert(id);
      }
    }
    // Reads that finished since: the bytes they took went nowhere.
    CompletionQueue::Done d{};
    while (pop(d, std::chrono::microseconds(0)))
      settle(d);
    pool_figures(out);
    if (!abandoned.empty()) leak_on_exit();
    return out;
  }

  std::vector<double> ping_pong(const PingPongJob& job) override {
    set_blocking(job.rfd, true);
    set_blocking(job.wfd, true);
    auto in = std::make_shared<std::vector<char>>(job.msg);
    std::uint64_t next = 0;
    auto read_msg = [&] {
      std::size_t got = 0;
      while (got < job.msg) {
        std::uint64_t id = next++;
        int fd = job.rfd;
        std::size_t at = got, want = job.msg - got;
        spawn(id, [fd, in, at, want] { return ret(::read(fd, in->data() + at, want)); });
        long n = wait_for(id);
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
      }
      return true;
    };
    auto write_msg = [&] {
      std::uint64_t id = kWriteTag | next++;
      int fd = job.wfd;
      auto copy = std::make_shared<std::vector<char>>(job.msg, 'p');
      spawn(id, [fd, copy] { return ret(::write(fd, copy->data(), copy->size())); });
      return wait_for(id) > 0; // spawn_blocking(write).await
    };
    std::vector<double> lat = ping_pong_rounds(job, read_msg, write_msg);
    return lat;
  }

  ReadOutcome file_read(const ReadJob& job) override {
    ReadOutcome out = o_.pool_job == "stream" ? read_streams(job) : read_per_job(job);
    pool_figures(out);
    return out;
  }

  VisOutcome write_visibility(const VisJob& job) override {
    VisOutcome out;
    int fd = job.fd;
    for (unsigned i = 0; i < job.rounds; ++i) {
      auto off = static_cast<off_t>(i) * static_cast<off_t>(job.size);
      // tokio's File copies the caller's bytes into its own buffer.
      auto copy = std::make_shared<std::vector<char>>(job.size, 'w');
      std::uint64_t wid = kWriteTag | i;
      spawn(wid, [fd, copy, off] { return pwrite_all(fd, copy->data(), copy->size(), off); });
      // spawn_blocking(write_all).await: done when the job is.
      if (wait_for(wid) < 0) throw std::runtime_error("write failed");
      // Another task asks for the metadata (see spawn_size).
      long size = wait_for(spawn_size(kStatTag | i, fd));
      ++out.rounds;
      if (size < static_cast<long>(off + static_cast<off_t>(job.size))) ++out.not_visible;
    }
    return out;
  }

private:
  // A spawn_blocking per read (positioned: no seek, unlike tokio-file), so each pays a
  // hand-off to a pool thread and a wake-up of the driver on the way back.
  ReadOutcome read_per_job(const ReadJob& job) {
    ReadOutcome out;
    out.lat_us.reserve(1u << 20);
    struct Slot {
      char* buf;
      double t0;
    };
    std::vector<Slot> slots(job.depth);
    std::vector<std::unique_ptr<char, decltype(&std::free)>> mem;
    for (auto& s : slots) {
      mem.emplace_back(
          static_cast<char*>(std::aligned_alloc(4096, (job.block + 4095) / 4096 * 4096)),
          &std::free);
      s.buf = mem.back().get();
    }
    std::uint64_t rng = 0x2545F4914F6CDD1Dull, seq = 0;
    double t_start = mono_us();
    double deadline = t_start + job.duration_s * 1e6;
    // `issued`: when the slot's previous result was in hand (the same clock
    // as every strategy's, see ReadOutcome::lat_us).
    auto submit = [&](std::uint64_t slot, double issued) {
      int fd = job.fd;
      char* buf = slots[slot].buf;
      std::size_t len = job.block;
      auto off = static_cast<off_t>(next_offset(rng, job, seq));
      slots[slot].t0 = issued;
      spawn(slot, [fd, buf, len, off] { return ret(::pread(fd, buf, len, off)); });
    };
    for (unsigned i = 0; i < job.depth; ++i)
      submit(i, t_start);
    unsigned outstanding = job.depth;
    while (outstanding > 0) {
      CompletionQueue::Done d{};
      pop(d, std::chrono::microseconds(-1));
      double t = mono_us();
      if (d.value < 0)
        ++out.errors;
      else {
        ++out.ops;
        out.bytes += static_cast<std::uint64_t>(d.value);
        out.lat_us.push_back(t - slots[d.id].t0);
      }
      if (t < deadline)
        submit(d.id, t);
      else
        --outstanding;
    }
    out.elapsed_s = (mono_us() - t_start) / 1e6;
    return out;
  }

  // `depth` jobs, each the sync strategy's pread loop on a pool thread until
  // the deadline, reporting once at the end through the completion queue:
  // the pool's threads without a hand-off per read. The jobs borrow this
  // frame; it outlives them because every one is awaited below.
  ReadOutcome read_streams(const ReadJob& job) {
    std::vector<ReadOutcome> part(job.depth);
    std::atomic<std::uint64_t> seq{0};
    double t_start = mono_us();
    double deadline = t_start + job.duration_s * 1e6;
    for (unsigned i = 0; i < job.depth; ++i) {
      spawn(i, [&job, &part, &seq, i, t_start, deadline] {
        part[i] = pread_loop(job, i, t_start, deadline, seq);
        return 0L;
      });
    }
    ReadOutcome out;
    for (unsigned left = job.depth; left > 0; --left) {
      CompletionQueue::Done d{};
      pop(d, std::chrono::microseconds(-1));
      const ReadOutcome& p = part[d.id];
      out.ops += p.ops;
      out.bytes += p.bytes;
      out.errors += p.errors;
      out.lat_us.insert(out.lat_us.end(), p.lat_us.begin(), p.lat_us.end());
    }
    out.elapsed_s = (mono_us() - t_start) / 1e6;
    return out;
  }
};

} // namespace

std::unique_ptr<Strategy> make_pool_per_attempt(const Options& o) {
  return std::make_unique<PoolPerAttempt>(o);
}

} // namespace aiobench
