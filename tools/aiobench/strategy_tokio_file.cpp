// tokio-file: one tokio::fs::File kept across select! (tokio/src/fs/file.rs),
// on the same blocking pool as pool-per-attempt. A dropped read leaves the
// File busy with its job; the next read waits for that same job and returns
// its bytes: one stuck thread, nothing lost, but the read cannot be stopped
// and shutdown waits for it. Reads go through the File's own buffer (at most
// 2 MiB per job, then copied out); a positioned read is a seek and a read,
// two hand-offs. A write copies at most 2 MiB into the buffer, queues the job
// and returns: the next operation waits for it, and queued writes still run
// when the process ends (spawn_mandatory_blocking).
#include "pool_driven.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace aiobench {
namespace {

// tokio's fs::File moves at most this much per blocking job (io::blocking::MAX_BUF).
constexpr std::size_t kMaxBuf = 2u << 20;

class TokioFile final : public PoolDriven {
public:
  using PoolDriven::PoolDriven;
  std::string name() const override { return "tokio-file"; }
  std::string model() const override {
    return pool_model() +
           "; one tokio::fs::File per stream: a dropped read stays in flight and the "
           "next read takes its result; reads by seek + read through a 2 MiB buffer, "
           "writes done once queued";
  }

  // select! { n = file.read(&mut buf) => .., _ = work => .. } on one File:
  // a read that loses stays the File's in-flight job; the next round's read
  // waits for that job instead of starting one, and gets its bytes.
  StormOutcome cancel_storm(const StormJob& job) override {
    set_blocking(job.fd, true);
    StormOutcome out;
    auto buf = std::make_shared<std::vector<char>>(64); // the File's buffer
    bool busy = false;
    std::uint64_t id = 0;
    int fd = job.fd;
    for (unsigned i = 0; i < job.rounds; ++i) {
      if (!busy) {
        id = i;
        spawn(id, [fd, buf] { return ret(::read(fd, buf->data(), buf->size())); });
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
    pool_figures(out);
    if (busy) leak_on_exit(); // its thread is still in read()
    return out;
  }

  std::vector<double> ping_pong(const PingPongJob& job) override {
    set_blocking(job.rfd, true);
    set_blocking(job.wfd, true);
    auto rbuf = std::make_shared<std::vector<char>>(std::min(job.msg, kMaxBuf));
    auto wbuf = std::make_shared<std::vector<char>>(std::min(job.msg, kMaxBuf), 'p');
    std::vector<char> in(job.msg);
    std::uint64_t next = 0, wid = 0;
    bool write_busy = false;
    auto read_msg = [&] {
      std::size_t got = 0;
      while (got < job.msg) {
        std::uint64_t id = next++;
        int fd = job.rfd;
        std::size_t want = std::min(job.msg - got, kMaxBuf);
        spawn(id, [fd, rbuf, want] { return ret(::read(fd, rbuf->data(), want)); });
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
      int fd = job.wfd;
      spawn(wid, [fd, wbuf] { return ret(::write(fd, wbuf->data(), wbuf->size())); });
      write_busy = true;
      return true;
    };
    std::vector<double> lat = ping_pong_rounds(job, read_msg, write_msg);
    // A queued write still runs before the process ends (tokio's File writes
    // are spawn_mandatory_blocking): the echo side's last reply is not lost.
    if (write_busy) wait_for(wid);
    return lat;
  }

  // `depth` Files, each its own open file (its own position), as `depth`
  // tasks each with a File. A positioned read is file.seek() then
  // file.read(): two jobs, the data landing in the File's buffer (aligned
  // here so O_DIRECT works; tokio's Vec is not) and copied out.
  ReadOutcome file_read(const ReadJob& job) override {
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
    auto seek = [&](std::uint64_t i, double issued) {
      auto off = static_cast<off_t>(next_offset(rng, job, seq));
      slots[i].issued = issued;
      slots[i].reading = false;
      int fd = slots[i].fd;
      spawn(i, [fd, off] { return ::lseek(fd, off, SEEK_SET) < 0 ? -errno : 0L; });
    };
    for (unsigned i = 0; i < job.depth; ++i)
      seek(i, t_start);
    unsigned outstanding = job.depth;
    while (outstanding > 0) {
      CompletionQueue::Done d{};
      pop(d, std::chrono::microseconds(-1));
      Slot& sl = slots[d.id];
      if (!sl.reading && d.value >= 0) {
        sl.reading = true;
        int fd = sl.fd;
        char* b = sl.buf.get();
        spawn(d.id, [fd, b, len] { return ret(::read(fd, b, len)); });
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
    pool_figures(out);
    return out;
  }

  // file.write_all(&buf) then fs::metadata from another task. write_all is
  // poll_write in a loop: each piece (at most 2 MiB) waits for the File's
  // previous write, is queued, and counts as written; the last one is still
  // queued or running when write_all returns.
  VisOutcome write_visibility(const VisJob& job) override {
    VisOutcome out;
    auto piece = std::make_shared<std::vector<char>>(std::min(job.size, kMaxBuf), 'w');
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
        spawn(wid, [fd, piece, n, at] { return pwrite_all(fd, piece->data(), n, at); });
        busy = true;
        done += n;
      }
      if (!finished(wid)) ++out.returned_before_written;
      long size = wait_for(spawn_size(kStatTag | i, fd));
      ++out.rounds;
      if (size < static_cast<long>(off + static_cast<off_t>(job.size))) ++out.not_visible;
    }
    if (busy) wait_for(wid); // flushed before the File is dropped
    return out;
  }
};

} // namespace

std::unique_ptr<Strategy> make_tokio_file(const Options& o) {
  return std::make_unique<TokioFile>(o);
}

} // namespace aiobench
