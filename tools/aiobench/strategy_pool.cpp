// Two models of async Rust's file I/O on a blocking thread pool (tokio's
// spawn_blocking pool: threads on demand up to a cap, kept when idle), each
// driven by one "async runtime" thread that hands jobs to the pool and
// takes their results from a completion queue.
//
// pool-per-attempt: every attempt is a new blocking job (spawn_blocking, or
// a File opened afresh, per receive() under select!). Losing a race drops
// the JoinHandle: the job keeps its thread until data comes and whatever it
// reads then is lost -- the thread leak of the original report. Writes are
// awaited. In file-read a job is one read or, with --pool-job stream, a
// loop of reads (one spawn_blocking around the loop).
//
// tokio-file: one tokio::fs::File kept across select! (tokio/src/fs/file.rs).
// A dropped read leaves the File busy with its job; the next read waits for
// that same job and returns its bytes: one stuck thread, nothing lost, but
// the read cannot be stopped and shutdown waits for it. Reads go through the
// File's own buffer (at most 2 MiB per job, then copied out); a positioned
// read is a seek and a read, two hand-offs. A write copies at most 2 MiB into
// the buffer, queues the job and returns: the next operation waits for it,
// and queued writes still run when the process ends (spawn_mandatory_blocking).
#include "blocking_pool.hpp"
#include "strategy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_map>
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
// tokio's fs::File moves at most this much per blocking job (io::blocking::MAX_BUF).
constexpr std::size_t kMaxBuf = 2u << 20;
constexpr std::uint64_t kStatTag = 1ull << 61;

long ret(long n) { return n < 0 ? -errno : n; }

class ThreadpoolStrategy final : public Strategy {
public:
  ThreadpoolStrategy(const Options& o, bool tokio_file)
      : o_(o), tokio_file_(tokio_file),
        sh_(new Shared(o.pool_cap,
                       std::chrono::milliseconds(static_cast<long>(o.pool_keepalive_s * 1000)))) {}
  ~ThreadpoolStrategy() override {
    // A thread still blocked in read() would hold the process forever;
    // the scenario has its figures, so let the process end around it.
    if (!leaked_) delete sh_;
  }
  std::string name() const override { return tokio_file_ ? "tokio-file" : "pool-per-attempt"; }
  std::string unsupported(const std::string&) const override { return ""; }
  std::string model() const override {
    std::string pool = "1 driver thread + a blocking pool (cap " + std::to_string(o_.pool_cap) +
                       ", idle threads kept " +
                       std::to_string(static_cast<int>(o_.pool_keepalive_s)) + " s)";
    if (tokio_file_)
      return pool + "; one tokio::fs::File per stream: a dropped read stays in flight and the "
                    "next read takes its result; reads by seek + read through a 2 MiB buffer, "
                    "writes done once queued";
    return pool + "; a new blocking job per attempt, abandoned when the race is lost; file-read: " +
           pool_job_shape(o_.pool_job);
  }

  StormOutcome cancel_storm(const StormJob& job) override {
    if (tokio_file_) return tokio_storm(job);
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
    out.pool_running = sh_->pool.running();
    out.pool_spawned = sh_->pool.spawned_total();
    leaked_ = !abandoned.empty();
    return out;
  }

  std::vector<double> ping_pong(const PingPongJob& job) override {
    if (tokio_file_) return tokio_ping_pong(job);
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
      return wait_id(id) > 0; // spawn_blocking(write).await
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
    if (tokio_file_) {
      ReadOutcome out = tokio_read(job);
      out.pool_jobs = sh_->pool.jobs_total();
      out.pool_threads = sh_->pool.spawned_total();
      return out;
    }
    ReadOutcome out = o_.pool_job == "stream" ? read_streams(job) : read_per_job(job);
    out.pool_jobs = sh_->pool.jobs_total();
    out.pool_threads = sh_->pool.spawned_total();
    return out;
  }

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
    if (tokio_file_) return tokio_visibility(job);
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
      // spawn_blocking(write_all).await: done when the job is.
      if (wait_id(wid) < 0) throw std::runtime_error("write failed");
      // Another task asks for the metadata: tokio's fs::metadata is itself a
      // spawn_blocking job.
      std::uint64_t sid = kStatTag | i;
      sh_->pool.spawn([sh, fd, sid] {
        struct stat st {};
        sh->cq.push({sid, ::fstat(fd, &st) == 0 ? static_cast<long>(st.st_size) : -errno});
      });
      long size = wait_id(sid);
      ++out.rounds;
      if (size < static_cast<long>(off + static_cast<off_t>(job.size))) ++out.not_visible;
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
  // Waits for job `id` until `deadline_us` (mono_us; negative: for ever);
  // completions of other jobs that arrive meanwhile are kept for their
  // own wait. False on timeout.
  bool wait_for(std::uint64_t id, double deadline_us, long& value) {
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
  // Whether job `id` has reported, without waiting (its result stays kept).
  bool finished(std::uint64_t id) {
    CompletionQueue::Done d{};
    while (sh_->cq.pop(d, std::chrono::microseconds(0)))
      early_[d.id] = d.value;
    return early_.count(id) != 0;
  }
  long wait_for(std::uint64_t id) {
    long v = 0;
    wait_for(id, -1, v);
    return v;
  }

  // select! { n = file.read(&mut buf) => .., _ = work => .. } on one File:
  // a read that loses stays the File's in-flight job; the next round's read
  // waits for that job instead of starting one, and gets its bytes.
  StormOutcome tokio_storm(const StormJob& job) {
    set_blocking(job.fd, true);
    StormOutcome out;
    auto buf = std::make_shared<std::vector<char>>(64); // the File's buffer
    bool busy = false;
    std::uint64_t id = 0;
    for (unsigned i = 0; i < job.rounds; ++i) {
      if (!busy) {
        id = i;
        Shared* sh = sh_;
        int fd = job.fd;
        sh_->pool.spawn([sh, fd, buf, id] {
          sh->cq.push({id, ret(::read(fd, buf->data(), buf->size()))});
        });
        busy = true;
      }
      long v = 0;
      if (wait_for(id, mono_us() + static_cast<double>(job.work.count()), v)) {
        busy = false;
        if (v > 0) ++out.reads_won; // copied out of the File's buffer: delivered
      } else {
        ++out.reads_resumed; // dropped; the job runs on and the next read takes it
      }
    }
    out.pool_queued = sh_->pool.queued();
    out.pool_running = sh_->pool.running();
    out.pool_spawned = sh_->pool.spawned_total();
    leaked_ = busy; // its thread is still in read(): the process ends around it
    return out;
  }

  std::vector<double> tokio_ping_pong(const PingPongJob& job) {
    set_blocking(job.rfd, true);
    set_blocking(job.wfd, true);
    std::vector<double> lat;
    lat.reserve(job.rounds);
    auto rbuf = std::make_shared<std::vector<char>>(std::min(job.msg, kMaxBuf));
    auto wbuf = std::make_shared<std::vector<char>>(std::min(job.msg, kMaxBuf), 'p');
    std::vector<char> in(job.msg);
    std::uint64_t next = 0, wid = 0;
    bool write_busy = false;
    auto read_msg = [&] {
      std::size_t got = 0;
      while (got < job.msg) {
        std::uint64_t id = next++;
        Shared* sh = sh_;
        int fd = job.rfd;
        std::size_t want = std::min(job.msg - got, kMaxBuf);
        sh_->pool.spawn([sh, fd, rbuf, want, id] {
          sh->cq.push({id, ret(::read(fd, rbuf->data(), want))});
        });
        long n = wait_for(id);
        if (n <= 0) return false;
        std::memcpy(in.data() + got, rbuf->data(), static_cast<std::size_t>(n));
        got += static_cast<std::size_t>(n);
      }
      return true;
    };
    // poll_write: wait for the File's previous write, copy, queue, return.
    auto write_msg = [&] {
      if (write_busy && wait_for(wid) < 0) return false;
      wid = kWriteTag | next++;
      Shared* sh = sh_;
      int fd = job.wfd;
      std::uint64_t id = wid;
      sh_->pool.spawn([sh, fd, wbuf, id] {
        sh->cq.push({id, ret(::write(fd, wbuf->data(), wbuf->size()))});
      });
      write_busy = true;
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
    // A queued write still runs before the process ends (tokio's File writes
    // are spawn_mandatory_blocking): the echo side's last reply is not lost.
    if (write_busy) wait_for(wid);
    return lat;
  }

  // `depth` Files, each its own open file (its own position), as `depth`
  // tasks each with a File. A positioned read is file.seek() then
  // file.read(): two jobs, the data landing in the File's buffer (aligned
  // here so O_DIRECT works; tokio's Vec is not) and copied out.
  ReadOutcome tokio_read(const ReadJob& job) {
    ReadOutcome out;
    out.lat_us.reserve(1u << 20);
    int flags = fcntl(job.fd, F_GETFL);
    std::string self = "/proc/self/fd/" + std::to_string(job.fd);
    std::size_t len = std::min(job.block, kMaxBuf);
    struct Slot {
      int fd = -1;
      std::unique_ptr<char, decltype(&std::free)> buf{nullptr, &std::free};
      std::vector<char> user;
      double issued = 0;
      bool reading = false; // false: the seek is in flight
    };
    std::vector<Slot> slots(job.depth);
    for (auto& sl : slots) {
      sl.fd = ::open(self.c_str(), O_RDONLY | O_CLOEXEC | (flags & O_DIRECT));
      if (sl.fd < 0) throw std::runtime_error("cannot reopen the file for tokio-file");
      sl.buf.reset(static_cast<char*>(std::aligned_alloc(4096, (len + 4095) / 4096 * 4096)));
      sl.user.resize(job.block);
    }
    std::uint64_t rng = 0x2545F4914F6CDD1Dull, seq = 0;
    double t_start = mono_us();
    double deadline = t_start + job.duration_s * 1e6;
    Shared* sh = sh_;
    auto seek = [&](std::uint64_t i, double issued) {
      auto off = static_cast<off_t>(next_offset(rng, job, seq));
      slots[i].issued = issued;
      slots[i].reading = false;
      int fd = slots[i].fd;
      sh_->pool.spawn([sh, fd, off, i] {
        sh->cq.push({i, ::lseek(fd, off, SEEK_SET) < 0 ? -errno : 0L});
      });
    };
    for (unsigned i = 0; i < job.depth; ++i)
      seek(i, t_start);
    unsigned outstanding = job.depth;
    while (outstanding > 0) {
      CompletionQueue::Done d{};
      sh_->cq.pop(d, std::chrono::microseconds(-1));
      Slot& sl = slots[d.id];
      if (!sl.reading && d.value >= 0) {
        sl.reading = true;
        int fd = sl.fd;
        char* b = sl.buf.get();
        std::uint64_t i = d.id;
        sh_->pool.spawn([sh, fd, b, len, i] { sh->cq.push({i, ret(::read(fd, b, len))}); });
        continue;
      }
      if (d.value < 0) {
        ++out.errors;
      } else {
        std::memcpy(sl.user.data(), sl.buf.get(), static_cast<std::size_t>(d.value));
        ++out.ops;
        out.bytes += static_cast<std::uint64_t>(d.value);
      }
      double t = mono_us();
      if (d.value >= 0) out.lat_us.push_back(t - sl.issued);
      if (t < deadline)
        seek(d.id, t);
      else
        --outstanding;
    }
    out.elapsed_s = (mono_us() - t_start) / 1e6;
    for (auto& sl : slots)
      ::close(sl.fd);
    return out;
  }

  // file.write_all(&buf) then fs::metadata from another task. write_all is
  // poll_write in a loop: each piece (at most 2 MiB) waits for the File's
  // previous write, is queued, and counts as written; the last one is still
  // queued or running when write_all returns.
  VisOutcome tokio_visibility(const VisJob& job) {
    VisOutcome out;
    auto piece = std::make_shared<std::vector<char>>(std::min(job.size, kMaxBuf), 'w');
    Shared* sh = sh_;
    int fd = job.fd;
    bool busy = false;
    std::uint64_t wid = 0, next = 0;
    for (unsigned i = 0; i < job.rounds; ++i) {
      auto off = static_cast<off_t>(i) * static_cast<off_t>(job.size);
      for (std::size_t done = 0; done < job.size;) {
        std::size_t n = std::min(job.size - done, kMaxBuf);
        if (busy && wait_for(wid) < 0) throw std::runtime_error("write failed");
        wid = kWriteTag | next++;
        off_t at = off + static_cast<off_t>(done);
        std::uint64_t id = wid;
        sh_->pool.spawn([sh, fd, piece, n, at, id] {
          std::size_t w = 0;
          long r = 0;
          while (w < n) {
            r = ret(::pwrite(fd, piece->data() + w, n - w, at + static_cast<off_t>(w)));
            if (r <= 0) break;
            w += static_cast<std::size_t>(r);
          }
          sh->cq.push({id, r < 0 ? r : static_cast<long>(w)});
        });
        busy = true;
        done += n;
      }
      if (!finished(wid)) ++out.returned_before_written;
      std::uint64_t sid = kStatTag | i;
      sh_->pool.spawn([sh, fd, sid] {
        struct stat st {};
        sh->cq.push({sid, ::fstat(fd, &st) == 0 ? static_cast<long>(st.st_size) : -errno});
      });
      long size = wait_for(sid);
      ++out.rounds;
      if (size < static_cast<long>(off + static_cast<off_t>(job.size))) ++out.not_visible;
    }
    if (busy) wait_for(wid); // flushed before the File is dropped
    return out;
  }

  Options o_;
  bool tokio_file_;
  Shared* sh_;
  bool leaked_ = false;
  std::unordered_map<std::uint64_t, long> early_; // completions not yet waited for
};

} // namespace

std::unique_ptr<Strategy> make_pool_per_attempt(const Options& o) {
  return std::make_unique<ThreadpoolStrategy>(o, false);
}

std::unique_ptr<Strategy> make_tokio_file(const Options& o) {
  return std::make_unique<ThreadpoolStrategy>(o, true);
}

} // namespace aiobench
