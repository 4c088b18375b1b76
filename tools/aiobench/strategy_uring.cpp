// The project's runtime: one thread, one ring, coroutines. A lost race is a
// real IORING_OP_ASYNC_CANCEL, so nothing stays behind; FIFO reads are
// poll-armed in the kernel, so they need no io-wq worker either.
#include "child.hpp"
#include "proc.hpp"
#include "strategy.hpp"

#include "aio/aio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace aiobench {
namespace {

std::unique_ptr<aio::Runtime> make_runtime(unsigned iowq_cap, bool sqpoll = false) {
  aio::RuntimeOptions ro = aio::default_runtime_options();
  ro.ring.max_iowq_workers = iowq_cap;
  ro.ring.sqpoll = sqpoll;
  // Its rows are io_uring's, whatever AIO_BACKEND says: where io_uring is
  // denied they fail rather than show the readiness backend's figures.
  ro.backend = aio::BackendKind::Uring;
  std::string why;
  auto rt = aio::Runtime::create(ro, &why);
  // Denied here (a container's seccomp profile, kernel.io_uring_disabled):
  // the row says so and the run goes on with the other strategies.
  if (!rt) throw Unavailable(why.empty() ? rt.error().message() : why);
  return std::move(*rt);
}

aio::FifoReader adopt(int fd) {
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) throw std::runtime_error("dup failed");
  auto r = aio::FifoReader::adopt(aio::UniqueFd(own), "", false);
  if (!r) throw std::runtime_error("cannot adopt FIFO: " + r.error().message());
  return std::move(*r);
}

aio::Task<aio::Result<void>> timer(std::chrono::nanoseconds d) {
  co_return co_await aio::sleep_for(d);
}

aio::Task<void> storm(const StormJob& job, StormOutcome& out) {
  aio::FifoReader reader = adopt(job.fd);
  std::byte buf[64];
  for (unsigned i = 0; i < job.rounds; ++i) {
    auto r = co_await aio::race(reader.read(buf), timer(job.work));
    // A read cancelled too late still hands over its bytes: count them as
    // delivered, never as lost.
    if (r.first && *r.first > 0)
      ++out.reads_won;
    else
      ++out.reads_cancelled;
  }
}

aio::Task<std::vector<double>> pingpong(const PingPongJob& job) {
  aio::FifoReader reader = adopt(job.rfd);
  std::vector<std::byte> msg(job.msg, std::byte{'p'});
  std::vector<std::byte> in(job.msg);
  std::vector<double> lat;
  lat.reserve(job.rounds);
  auto read_msg = [&]() -> aio::Task<bool> {
    std::size_t got = 0;
    while (got < in.size()) {
      auto r = co_await reader.read(std::span(in).subspan(got));
      if (!r || *r == 0) co_return false;
      got += *r;
    }
    co_return true;
  };
  for (unsigned i = 0; i < job.rounds; ++i) {
    double t0 = mono_us();
    if (!job.initiator && !co_await read_msg()) break;
    auto w = co_await aio::write_all(job.wfd, msg);
    if (!w) break;
    if (job.initiator) {
      if (!co_await read_msg()) break;
      lat.push_back(mono_us() - t0);
    }
  }
  co_return lat;
}

aio::Task<void> read_worker(const ReadJob& job, double start, double deadline, std::uint64_t seed,
                            std::uint64_t& seq, ReadOutcome& out) {
  std::unique_ptr<std::byte, decltype(&std::free)> mem(
      static_cast<std::byte*>(std::aligned_alloc(4096, (job.block + 4095) / 4096 * 4096)),
      &std::free);
  std::span<std::byte> buf(mem.get(), job.block);
  std::uint64_t rng = seed;
  double last = start;
  bool more = true;
  // At least one read per worker, however late it first runs (see pread_loop).
  do {
    std::uint64_t off = next_offset(rng, job, seq);
    auto r = co_await aio::read(job.fd, buf, off);
    // Issued when this slot's previous result was in hand, as in every
    // strategy (see ReadOutcome::lat_us).
    double t = mono_us();
    double issued = last;
    last = t;
    more = t < deadline; // decided on the result's clock, so slots cover the run
    if (!r) {
      ++out.errors;
      if (r.cancelled()) break;
      continue;
    }
    out.lat_us.push_back(t - issued);
    ++out.ops;
    out.bytes += *r;
  } while (more);
}

// `depth` reads in flight on this thread's ring from `t0` (mono_us) on;
// `first` numbers this ring's slots among every ring's (their seeds).
aio::Task<void> read_all(const ReadJob& job, double t0, unsigned first, ReadOutcome& out) {
  aio::Scope scope(co_await aio::stop_token());
  std::uint64_t seq = 0;
  double deadline = t0 + job.duration_s * 1e6;
  for (unsigned i = 0; i < job.depth; ++i)
    scope.spawn(read_worker(job, t0, deadline, 0x9E3779B97F4A7C15ull * (first + i + 1), seq, out));
  co_await scope.join();
  out.elapsed_s = (mono_us() - t0) / 1e6;
}

aio::Task<std::uint64_t> size_now(const std::string& path) {
  auto st = co_await aio::statx(AT_FDCWD, path.c_str());
  const std::uint64_t size = st ? st->stx_size : 0;
  co_return size;
}

aio::Task<void> visibility(const VisJob& job, VisOutcome& out) {
  std::vector<std::byte> buf(job.size, std::byte{'w'});
  for (unsigned i = 0; i < job.rounds; ++i) {
    std::uint64_t off = static_cast<std::uint64_t>(i) * job.size;
    auto w = co_await aio::write_all(job.fd, buf, off);
    if (!w) throw std::runtime_error("write: " + w.error().message());
    // The check is its own task on the same ring, as another async task
    // asking for the file's metadata would be.
    std::uint64_t size = co_await size_now(job.path);
    ++out.rounds;
    if (size < off + job.size) ++out.not_visible;
  }
}

aio::Task<void> await_control(int control_fd, int ready_fd) {
  std::byte one{'R'};
  (void)co_await aio::write(ready_fd, std::span(&one, 1));
  std::byte b[1];
  (void)co_await aio::read_ready(control_fd, b);
}

aio::Task<void> shutdown_body(const ShutdownJob& job) {
  aio::FifoReader reader = adopt(job.fifo_fd);
  std::byte buf[64];
  // The exit request wins the race; the FIFO read is cancelled in the kernel
  // and the race returns only after its last CQE.
  auto r = co_await aio::race(reader.read(buf), await_control(job.control_fd, job.ready_fd));
  (void)r;
}

class UringStrategy final : public Strategy {
public:
  // rings > 0: file-read on that many threads, each with its own ring
  // (uring-rings); 0: the one ring on the one thread.
  // sqpoll: file-read on one ring with a kernel submission thread
  // (uring-sqpoll).
  UringStrategy(const Options& o, unsigned rings, bool sqpoll = false)
      : o_(o), rings_(rings), sqpoll_(sqpoll) {}
  std::string name() const override {
    return sqpoll_ ? "uring-sqpoll" : rings_ > 0 ? "uring-rings" : "uring";
  }
  std::string unsupported(const std::string&) const override { return ""; }
  std::string model() const override {
    return "1 thread, io_uring; lost races are cancelled in the kernel";
  }

  StormOutcome cancel_storm(const StormJob& job) override {
    auto rt = make_runtime(2);
    StormOutcome out;
    rt->block_on(storm(job, out));
    return out;
  }
  std::vector<double> ping_pong(const PingPongJob& job) override {
    set_blocking(job.wfd, false);
    auto rt = make_runtime(2);
    return rt->block_on(pingpong(job));
  }
  ReadOutcome file_read(const ReadJob& job) override {
    if (rings_ > 0) return read_rings(job);
    auto rt = make_runtime(job.iowq_cap, sqpoll_);
    ReadOutcome out;
    out.lat_us.reserve(1u << 20);
    rt->block_on(read_all(job, mono_us(), 0, out));
    return out;
  }

  // One ring per thread, the depth shared out among min(rings, depth) of
  // them (32 on 2 rings: 16 each), all from one start time. A ring on one
  // thread is capped at one CPU for cached reads; this row shows what the
  // same runtime does with a thread per CPU. Sequential reads: each ring
  // reads its own sequential stream.
  ReadOutcome read_rings(const ReadJob& job) {
    unsigned n = std::max(1u, std::min(rings_, job.depth));
    std::vector<ReadOutcome> part(n);
    std::vector<std::exception_ptr> err(n);
    std::vector<std::thread> threads;
    double t0 = mono_us();
    unsigned first = 0;
    for (unsigned i = 0; i < n; ++i) {
      ReadJob mine = job;
      mine.depth = job.depth / n + (i < job.depth % n ? 1 : 0);
      threads.emplace_back([&, i, mine, first] {
        try {
          auto rt = make_runtime(job.iowq_cap);
          part[i].lat_us.reserve(1u << 19);
          rt->block_on(read_all(mine, t0, first, part[i]));
        } catch (...) {
          err[i] = std::current_exception();
        }
      });
      first += mine.depth;
    }
    for (auto& t : threads)
      t.join();
    for (auto& e : err)
      if (e) std::rethrow_exception(e); // io_uring denied: Unavailable
    ReadOutcome out;
    for (auto& p : part) {
      out.ops += p.ops;
      out.bytes += p.bytes;
      out.errors += p.errors;
      out.lat_us.insert(out.lat_us.end(), p.lat_us.begin(), p.lat_us.end());
    }
    out.elapsed_s = (mono_us() - t0) / 1e6;
    return out;
  }
  VisOutcome write_visibility(const VisJob& job) override {
    auto rt = make_runtime(2);
    VisOutcome out;
    rt->block_on(visibility(job, out));
    return out;
  }
  void shutdown(const ShutdownJob& job) override {
    set_blocking(job.control_fd, false);
    auto rt = make_runtime(2);
    rt->block_on(shutdown_body(job));
  }

private:
  Options o_;
  unsigned rings_;
  bool sqpoll_;
};

} // namespace

std::unique_ptr<Strategy> make_uring(const Options& o) {
  return std::make_unique<UringStrategy>(o, 0);
}

std::unique_ptr<Strategy> make_uring_rings(const Options& o) {
  return std::make_unique<UringStrategy>(o, o.rings > 0 ? o.rings : cpu_count());
}

std::unique_ptr<Strategy> make_uring_sqpoll(const Options& o) {
  return std::make_unique<UringStrategy>(o, 0, true);
}

} // namespace aiobench
