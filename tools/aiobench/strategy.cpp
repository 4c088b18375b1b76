#include "strategy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace aiobench {

std::unique_ptr<Strategy> make_strategy(const std::string& name, const Options& o) {
  if (name == "uring") return make_uring(o);
  if (name == "uring-rings") return make_uring_rings(o);
  if (name == "uring-sqpoll") return make_uring_sqpoll(o);
  if (name == "pool-per-attempt") return make_pool_per_attempt(o);
  if (name == "tokio-file") return make_tokio_file(o);
  if (name == "epoll") return make_epoll(o);
  if (name == "sync") return make_sync(o);
  return nullptr;
}

void set_blocking(int fd, bool blocking) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return;
  fcntl(fd, F_SETFL, blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK));
}

std::uint64_t next_offset(std::uint64_t& rng, const ReadJob& job, std::uint64_t& seq_pos) {
  std::uint64_t blocks = job.file_size / job.block;
  if (blocks == 0) return 0;
  if (!job.random) {
    std::uint64_t off = seq_pos;
    seq_pos += job.block;
    if (seq_pos + job.block > blocks * job.block) seq_pos = 0;
    return off;
  }
  // xorshift64: cheap enough not to show in the per-op CPU time.
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (rng % blocks) * job.block;
}

double mono_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

ReadOutcome pread_loop(const ReadJob& job, unsigned id, double start, double deadline,
                       std::atomic<std::uint64_t>& seq) {
  ReadOutcome out;
  std::unique_ptr<char, decltype(&std::free)> mem(
      static_cast<char*>(std::aligned_alloc(4096, (job.block + 4095) / 4096 * 4096)), &std::free);
  out.lat_us.reserve(1u << 18);
  std::uint64_t rng = 0x9E3779B97F4A7C15ull * (id + 1);
  std::uint64_t blocks = job.file_size / job.block;
  double last = start;
  bool more = true;
  // At least one read, even when this thread first runs after the deadline
  // (a loaded machine): a point never comes out with no operations at all.
  do {
    off_t off;
    if (job.random) {
      std::uint64_t unused = 0;
      off = static_cast<off_t>(next_offset(rng, job, unused));
    } else {
      off = static_cast<off_t>((seq.fetch_add(1) % blocks) * job.block);
    }
    ssize_t n = ::pread(job.fd, mem.get(), job.block, off);
    // Issued when the previous result was in hand (see ReadOutcome::lat_us),
    // not when pread was entered: a thread that waits for a CPU between
    // reads is waiting on its request all the same.
    double t = mono_us();
    double issued = last;
    last = t;
    more = t < deadline; // decided on the result's clock, so slots cover the run
    if (n < 0) {
      ++out.errors;
      continue;
    }
    out.lat_us.push_back(t - issued);
    ++out.ops;
    out.bytes += static_cast<std::uint64_t>(n);
  } while (more);
  return out;
}

VisOutcome blocking_write_visibility(const VisJob& job) {
  VisOutcome out;
  std::vector<char> buf(job.size, 'w');
  for (unsigned i = 0; i < job.rounds; ++i) {
    auto off = static_cast<off_t>(i) * static_cast<off_t>(job.size);
    std::size_t done = 0;
    while (done < buf.size()) {
      ssize_t n =
          ::pwrite(job.fd, buf.data() + done, buf.size() - done, off + static_cast<off_t>(done));
      if (n <= 0) throw std::runtime_error("write failed");
      done += static_cast<std::size_t>(n);
    }
    struct stat st {};
    ::fstat(job.fd, &st);
    ++out.rounds;
    if (st.st_size < off + static_cast<off_t>(job.size)) ++out.not_visible;
  }
  return out;
}

} // namespace aiobench
