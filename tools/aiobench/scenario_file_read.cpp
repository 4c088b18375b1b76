// file-read: random 4 KiB and sequential 128 KiB reads of one file at
// several queue depths. uring keeps `depth` reads in flight on one thread;
// the thread pool runs the same number of concurrent blocking preads (its
// threads are what that costs), a job per read or, with --pool-job stream,
// `depth` jobs that each loop; sync uses `depth` threads, like fio's psync
// with numjobs=depth; epoll can only pread in its loop, one at a time.
#include "child.hpp"
#include "repetitions.hpp"
#include "scenarios.hpp"
#include "stats.hpp"
#include "strategy.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace aiobench {
namespace {

double cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru); // the whole process: its threads and its io-wq workers
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

std::string make_file(const std::string& path, std::uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("cannot create '{}': {}", path, std::strerror(errno));
  std::vector<char> chunk(1u << 20);
  std::uint64_t x = 88172645463325252ull;
  for (auto& ch : chunk) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ch = static_cast<char>(x);
  }
  for (std::uint64_t done = 0; done < size;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - done));
    ssize_t w = ::write(fd, chunk.data(), n);
    if (w <= 0) {
      ::close(fd);
      return fmt::format("cannot write '{}': {}", path, std::strerror(errno));
    }
    done += static_cast<std::uint64_t>(w);
  }
  // On disk before any timing: writeback must not run under the measurement,
  // and O_DIRECT must read real blocks.
  fdatasync(fd);
  ::close(fd);
  return "";
}

void read_child(const Options& opt, const std::string& strategy, const std::string& path,
                ReadJob job, bool direct, Emitter& em) {
  auto strat = make_strategy(strategy, opt);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  job.fd = fd;
  double c0 = cpu_s();
  ReadOutcome out = strat->file_read(job);
  double cpu = cpu_s() - c0;
  ::close(fd);
  std::sort(out.lat_us.begin(), out.lat_us.end());
  double secs = out.elapsed_s > 0 ? out.elapsed_s : 1;
  em.figure("ops", static_cast<double>(out.ops));
  em.figure("errors", static_cast<double>(out.errors));
  em.figure("iops", static_cast<double>(out.ops) / secs);
  em.figure("mb_s", static_cast<double>(out.bytes) / secs / 1e6);
  em.figure("p50_us", percentile(out.lat_us, 50));
  em.figure("mean_us", mean(out.lat_us));
  em.figure("p99_us", percentile(out.lat_us, 99));
  em.figure("p99.9_us", percentile(out.lat_us, 99.9));
  em.figure("max_us", out.lat_us.empty() ? 0 : out.lat_us.back());
  em.figure("cpu_us_per_op", out.ops > 0 ? cpu * 1e6 / static_cast<double>(out.ops) : 0);
  if (strategy == "uring" || strategy == "uring-rings" || strategy == "uring-sqpoll")
    em.figure("iowq_cap", job.iowq_cap);
  if (strategy == "uring-rings")
    em.figure("rings", std::max(1u, std::min(opt.rings > 0 ? opt.rings : cpu_count(), job.depth)));
  if (strategy == "pool-per-attempt" || strategy == "tokio-file") {
    em.figure("pool_jobs", static_cast<double>(out.pool_jobs));
    em.figure("pool_threads_spawned", static_cast<double>(out.pool_threads));
  }
  // Says what was measured, the pool's job shape included.
  em.note(strat->model());
  std::vector<double> x, y;
  cdf(out.lat_us, 40, x, y);
  em.series("latency_cdf", x, y);
  em.process_end();
}

} // namespace

void run_file_read(Context& ctx) {
  const Options& opt = ctx.opt;
  std::string path = opt.file;
  std::uint64_t size = opt.file_size;
  if (path.empty()) {
    path = ctx.dir + "/file-read.dat";
    ctx.progress.show(fmt::format("file-read: writing a {} MiB file", size >> 20));
    if (auto err = make_file(path, size); !err.empty()) {
      ctx.report.rows.push_back(Row{"file-read", "", "", true, err, {}, {}});
      return;
    }
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      ctx.report.rows.push_back(Row{"file-read", "", "", true, "cannot stat " + path, {}, {}});
      return;
    }
    size = static_cast<std::uint64_t>(st.st_size);
  }
  // Some filesystems (tmpfs) refuse O_DIRECT: say so instead of failing.
  bool direct_ok = true;
  if (int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC); fd >= 0)
    ::close(fd);
  else
    direct_ok = false;
  // Page cache warm for the buffered rows: read it once.
  if (int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    std::vector<char> b(1u << 20);
    while (::read(fd, b.data(), b.size()) > 0) {
    }
    ::close(fd);
  }
  // file-read compares uring with the strategies that read files with threads.
  std::vector<std::string> names;
  for (const auto& n : opt.strategies)
    names.push_back(n);
  unsigned turn = 0;
  for (const auto& pattern : opt.patterns) {
    bool random = pattern == "rand4k";
    std::size_t block = random ? 4096 : 128 * 1024;
    for (const auto& mode : opt.modes) {
      bool direct = mode == "direct";
      for (unsigned depth : opt.depths) {
        std::string variant = fmt::format("{} qd{} {}", pattern, depth, mode);
        // Each strategy is measured opt.reps times, the strategies taking
        // turns in an order that rotates every repetition, so a slow spell
        // of the shared machine lands on different rows; shown in the fixed
        // order, as the median and the spread of the repetitions.
        std::vector<std::vector<Row>> reps(names.size());
        for (unsigned rep = 0; rep < opt.reps && !interrupted(); ++rep) {
          for (std::size_t k = 0; k < names.size(); ++k) {
            std::size_t slot = (k + turn + rep) % names.size();
            const std::string& name = names[slot];
            Row row{"file-read", name, variant, false, "", {}, {}};
            row.set("depth", depth);
            row.set("block", static_cast<double>(block));
            if (direct && !direct_ok) {
              row.skipped = true;
              row.note = "the filesystem refuses O_DIRECT";
            } else if (name == "epoll" && depth > 1) {
              row.skipped = true;
              row.note = "an epoll loop reads files with blocking pread, one at a time (see qd1)";
            } else {
              ctx.progress.show(
                  fmt::format("file-read: {} {} (rep {}/{})", name, variant, rep + 1, opt.reps));
              unsigned cap = opt.iowq_cap > 0 ? opt.iowq_cap : std::max(2u, depth);
              ReadJob job{-1, block, random, depth, size, opt.duration_s, cap};
              Child c =
                  spawn_child([&](Emitter& em) { read_child(opt, name, path, job, direct, em); });
              // Every 1 ms: io-wq workers come and go within a few ms
              // (an idle one exits), and a 20 ms sampler missed them.
              // The chart keeps the old 20 ms spacing.
              collect(c, {c.pid}, row, std::chrono::milliseconds(1),
                      std::chrono::milliseconds(static_cast<long>(opt.duration_s * 1000) + 30000),
                      true, std::chrono::milliseconds(20));
            }
            reps[slot].push_back(std::move(row));
          }
        }
        for (auto& r : reps)
          if (!r.empty()) ctx.report.rows.push_back(merge_repetitions(r, read_spread_keys()));
        ++turn;
      }
    }
  }
  if (opt.file.empty()) ::unlink(path.c_str());
}

} // namespace aiobench
