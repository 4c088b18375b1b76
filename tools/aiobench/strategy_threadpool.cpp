// The thread-pool model of tokio's and async-std's file I/O: one "async
// runtime" thread drives jobs that run blocking syscalls on a BlockingPool.
// Losing a race only drops interest in the result (tokio drops the
// JoinHandle): the read keeps its thread until data comes, and whatever it
// reads then is lost. With tp_writes_queued a write reports done once it is
// handed to the pool, as tokio::fs::File::write does. In file-read a pool
// job is one read (tokio::fs::File) or, with --pool-job stream, a loop of
// reads (one spawn_blocking around the loop, tokio's advice for bulk I/O).
#include "blocking_pool.hpp"
#include "strategy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <unordered_set>
#include <vector>

namespace aiobench {
namespace {

// Jobs point at this, so it lives as long as the pool's threads do; when a
// blocked thread would keep the process from ending it is leaked on purpose
// (tokio's Runtime::shutdown_background).
struct Shared {
  Shared(unsigned cap, std::chrono::milliseconds keep) : pool(cap, keep) {}
  CompletionQueue cq;
  BlockingPool pool; // declared last: destroyed (joined) first
};

constexpr std::uint64_t kWriteTag = 1ull << 62;
constexpr std::uint64_t kStatTag = 1ull << 61;

long ret(long n) { return n < 0 ? -errno : n; }

class ThreadpoolStrategy final : public Strategy {
public:
  explicit ThreadpoolStrategy(const Options& o)
      : o_(o),
        sh_(new Shared(o.pool_cap,
                       std::chrono::milliseconds(static_cast<long>(o.pool_keepalive_s * 1000)))) {}
  ~ThreadpoolStrategy() override {
    // A thread still blocked in read() would hold the process forever;
    // the scenario has its figures, so let the process end around it.
    if (!leaked_) delete sh_;
  }
  std::string name() const override { return "threadpool"; }
  std::string unsupported(const std::string&) const override { return ""; }
  std::string model() const override {
    return "1 driver thread + a blocking pool (cap " + std::to_string(o_.pool_cap) +
           ", idle threads kept " + std::to_string(static_cast<int>(o_.pool_keepalive_s)) +
           " s); file-read: " + pool_job_shape(o_.pool_job);
  }

  StormOutcome cancel_storm(const StormJob& job) override {
    set_blocking(job.fd, true);
    StormOutcome out;
    std::unordered_set<std::uint64_t> abandoned;
    auto settle = [&](const CompletionQueue::Done& d) {
      if (abandoned.erase(d.id) != 0 && d.value > 0)
        out.bytes_lost += static_cast<std::uint64_t>(d.value);
    };
    for (unsigned i = 0; i < job.rounds; ++i) {
      std::uint64_t id = i;
      Shared* sh = sh_;
      int fd = job.fd;
      sh_->pool.spawn([sh, fd, id] {
        char b[64];
        sh->cq.push({id, ret(::read(fd, b, sizeof b))});
      });
      // select! { read, sleep(work) }: wait for this read until the work is done.
      double end = mono_us() + static_cast<double>(job.work.count());
      bool ended = false;
      CompletionQueue::Done d{};
      for (double left; (left = end - mono_us()) > 0;) {
        if (!sh_->cq.pop(d, std::chrono::microseconds(static_cast<long>(left)))) break;
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
    while (sh_->cq.pop(d, std::chrono::microseconds(0)))
      settle(d);
    out.pool_queued = sh_->pool.queued();
    leaked_ = !abandoned.empty();
    return out;
  }

  std::vector<double> ping_pong(const PingPongJob& job) override {
    set_blocking(job.rfd, true);
    set_blocking(job.wfd, true);
    std::vector<double> lat;
    lat.reserve(job.rounds);
    auto in = std::make_shared<std::vector<char>>(job.msg);
    std::uint64_t next = 0;
    auto wait_id = [&](std::uint64_t id) {
      CompletionQueue::Done d{};
      for (;;) {
        sh_->cq.pop(d, std::chrono::microseconds(-1));
        if (d.id == id) return d.value;
      }
    };
    auto read_msg = [&] {
      std::size_t got = 0;
      while (got < job.msg) {
        std::uint64_t id = next++;
        Shared* sh = sh_;
        int fd = job.rfd;
        std::size_t at = got, want = job.msg - got;
        sh_->pool.spawn([sh, fd, in, at, want, id] {
          sh->cq.push({id, ret(::read(fd, in->data() + at, want))});
        });
        long n = wait_id(id);
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
      }
      return true;
    };
    auto write_msg = [&] {
      std::uint64_t id = kWriteTag | next++;
      Shared* sh = sh_;
      int fd = job.wfd;
      auto copy = std::make_shared<std::vector<char>>(job.msg, 'p');
      sh_->pool.spawn([sh, fd, copy, id] {
        sh->cq.push({id, ret(::write(fd, copy->data(), copy->size()))});
      });
      if (!o_.tp_writes_queued) return wait_id(id) > 0;
      return true;
    };
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

  ReadOutcome file_read(const ReadJob& job) override {
    ReadOutcome out = o_.pool_job == "stream" ? read_streams(job) : read_per_job(job);
    out.pool_jobs = sh_->pool.jobs_total();
    out.pool_threads = sh_->pool.spawned_total();
    return out;
  }

  // tokio::fs::File: every read is its own spawn_blocking, so each pays a
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
      Shared* sh = sh_;
      int fd = job.fd;
      char* buf = slots[slot].buf;
      std::size_t len = job.block;
      auto off = static_cast<off_t>(next_offset(rng, job, seq));
      slots[slot].t0 = issued;
      sh_->pool.spawn([sh, fd, buf, len, off, slot] {
        sh->cq.push({slot, ret(::pread(fd, buf, len, off))});
      });
    };
    for (unsigned i = 0; i < job.depth; ++i)
      submit(i, t_start);
    unsigned outstanding = job.depth;
    while (outstanding > 0) {
      CompletionQueue::Done d{};
      sh_->cq.pop(d, std::chrono::microseconds(-1));
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
      Shared* sh = sh_;
      sh_->pool.spawn([sh, &job, &part, &seq, i, t_start, deadline] {
        part[i] = pread_loop(job, i, t_start, deadline, seq);
        sh->cq.push({i, 0});
      });
    }
    ReadOutcome out;
    for (unsigned left = job.depth; left > 0; --left) {
      CompletionQueue::Done d{};
      sh_->cq.pop(d, std::chrono::microseconds(-1));
      const ReadOutcome& p = part[d.id];
      out.ops += p.ops;
      out.bytes += p.bytes;
      out.errors += p.errors;
      out.lat_us.insert(out.lat_us.end(), p.lat_us.begin(), p.lat_us.end());
    }
    out.elapsed_s = (mono_us() - t_start) / 1e6;
    return out;
  }

  VisOutcome write_visibility(const VisJob& job) override {
    VisOutcome out;
    auto wait_id = [&](std::uint64_t id) {
      CompletionQueue::Done d{};
      for (;;) {
        sh_->cq.pop(d, std::chrono::microseconds(-1));
        if (d.id == id) return d.value;
      }
    };
    for (unsigned i = 0; i < job.rounds; ++i) {
      auto off = static_cast<off_t>(i) * static_cast<off_t>(job.size);
      // tokio's File copies the caller's bytes into its own buffer.
      auto copy = std::make_shared<std::vector<char>>(job.size, 'w');
      Shared* sh = sh_;
      int fd = job.fd;
      std::uint64_t wid = kWriteTag | i;
      sh_->pool.spawn([sh, fd, copy, off, wid] {
        std::size_t done = 0;
        long r = 0;
        while (done < copy->size()) {
          r = ret(::pwrite(fd, copy->data() + done, copy->size() - done,
                           off + static_cast<off_t>(done)));
          if (r <= 0) break;
          done += static_cast<std::size_t>(r);
        }
        sh->cq.push({wid, r < 0 ? r : static_cast<long>(done)});
      });
      bool write_pending = o_.tp_writes_queued;
      if (!write_pending && wait_id(wid) < 0) throw std::runtime_error("write failed");
      // Another task asks for the metadata: tokio's fs::metadata is itself a
      // spawn_blocking job.
      std::uint64_t sid = kStatTag | i;
      sh_->pool.spawn([sh, fd, sid] {
        struct stat st {};
        sh->cq.push({sid, ::fstat(fd, &st) == 0 ? static_cast<long>(st.st_size) : -errno});
      });
      CompletionQueue::Done d{};
      long size = -1;
      bool write_seen = false;
      while (size < 0) {
        sh_->cq.pop(d, std::chrono::microseconds(-1));
        if (d.id == sid) size = d.value;
        if (d.id == wid) write_seen = true;
      }
      ++out.rounds;
      if (size < static_cast<long>(off + static_cast<off_t>(job.size))) ++out.not_visible;
      // The next operation on a tokio File waits for the one in flight.
      if (write_pending && !write_seen) wait_id(wid);
    }
    return out;
  }

  void shutdown(const ShutdownJob& job) override {
    set_blocking(job.fifo_fd, true);
    set_blocking(job.control_fd, true);
    Shared* sh = sh_;
    int fd = job.fifo_fd;
    sh_->pool.spawn([sh, fd] {
      char b[64];
      sh->cq.push({0, ret(::read(fd, b, sizeof b))});
    });
    char one = 'R';
    (void)!::write(job.ready_fd, &one, 1);
    char b;
    (void)!::read(job.control_fd, &b, 1);
    // Dropping the runtime: tokio waits for every blocking task, and a
    // blocking read() cannot be interrupted.
    sh_->pool.shutdown_and_wait();
  }

private:
  Options o_;
  Shared* sh_;
  bool leaked_ = false;
};

} // namespace

std::unique_ptr<Strategy> make_threadpool(const Options& o) {
  return std::make_unique<ThreadpoolStrategy>(o);
}

} // namespace aiobench
