// fifo-latency: ping-pong between two processes over two FIFOs, both sides
// using the same strategy. Both sides are pinned the same way for every
// strategy, and the strategies take turns in chunks, because on small VMs
// the hand-off cost depends on vCPU placement and drifts over minutes.
#include "child.hpp"
#include "scenarios.hpp"
#include "stats.hpp"
#include "strategy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

namespace aiobench {
namespace {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) out.push_back(i);
  return out;
}

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set); // threads made later inherit it
}

// Opens our read end, then our write end (retrying until the peer's reader
// exists), then trades one byte so both directions have a writer before the
// first timed read: a FIFO never written to reads as EOF.
void connect(const std::string& rd, const std::string& wr, int& rfd, int& wfd) {
  rfd = ::open(rd.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (rfd < 0) throw std::runtime_error("cannot open " + rd);
  double give_up = now_s() + 10;
  while ((wfd = ::open(wr.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
    if (errno != ENXIO || now_s() > give_up) throw std::runtime_error("cannot open " + wr);
    usleep(500);
  }
  char b = 'S';
  if (::write(wfd, &b, 1) != 1) throw std::runtime_error("handshake write failed");
  // Each failure says what it saw: CI once reported a bare "handshake
  // failed" that 55 runs under load here did not repeat.
  pollfd p{rfd, POLLIN, 0};
  int n = 0;
  while ((n = poll(&p, 1, 10000)) < 0 && errno == EINTR) {
  }
  if (n != 1)
    throw std::runtime_error(n == 0
                                 ? "handshake failed: no byte from the peer in 10 s"
                                 : fmt::format("handshake failed: poll: {}", std::strerror(errno)));
  ssize_t r = ::read(rfd, &b, 1);
  if (r != 1)
    throw std::runtime_error(fmt::format("handshake failed: read gave {} ({}), poll revents {:#x}",
                                         r, r < 0 ? std::strerror(errno) : "no writer left",
                                         p.revents));
}

void side(const Options& opt, const std::string& strategy, const std::string& rd,
          const std::string& wr, bool initiator, unsigned rounds, int cpu, Emitter& em) {
  pin(cpu);
  auto strat = make_strategy(strategy, opt);
  int rfd = -1, wfd = -1;
  connect(rd, wr, rfd, wfd);
  auto lat = strat->ping_pong({rfd, wfd, rounds, initiator, 64});
  if (initiator) {
    std::vector<double> idx(lat.size());
    for (std::size_t i = 0; i < idx.size(); ++i)
      idx[i] = static_cast<double>(i);
    em.series("lat_us", idx, lat);
    em.process_end();
  }
  ::close(wfd); // the echo side sees EOF and ends
  ::close(rfd);
}

} // namespace

void run_fifo_latency(Context& ctx) {
  const Options& opt = ctx.opt;
  std::vector<int> cpus = allowed_cpus();
  int cpu_a = -1, cpu_b = -1;
  if (opt.pin != "none" && !cpus.empty()) {
    cpu_a = cpus[0];
    cpu_b = opt.pin == "split" && cpus.size() > 1 ? cpus[1] : cpus[0];
  }
  std::string pinning =
      cpu_a < 0 ? "not pinned" : fmt::format("pinned: cpu {} <-> cpu {}", cpu_a, cpu_b);
  unsigned chunks = std::max(1u, opt.latency_chunks);
  unsigned per_chunk = std::max(1u, opt.latency_rounds / chunks);
  std::map<std::string, Row> rows;
  std::map<std::string, std::vector<double>> lat;
  std::map<std::string, std::vector<double>> chunk_p50;
  std::string ping = ctx.dir + "/ping.fifo", pong = ctx.dir + "/pong.fifo";
  for (const auto& name : opt.strategies)
    rows[name] = Row{"fifo-latency", name, "", false, "", {}, {}};
  for (unsigned c = 0; c < chunks; ++c) {
    // Rotate who goes first, so no strategy always runs on a warmer machine.
    for (std::size_t k = 0; k < opt.strategies.size(); ++k) {
      const std::string& name = opt.strategies[(k + c) % opt.strategies.size()];
      if (rows[name].unavailable) continue; // io_uring denied: said once is enough
      ctx.progress.show(fmt::format("fifo-latency: {} (chunk {}/{})", name, c + 1, chunks));
      make_fifo(ping);
      make_fifo(pong);
      Child b = spawn_child(
          [&](Emitter& em) { side(opt, name, ping, pong, false, per_chunk, cpu_b, em); });
      Child a = spawn_child(
          [&](Emitter& em) { side(opt, name, pong, ping, true, per_chunk, cpu_a, em); });
      Row part{"fifo-latency", name, "", false, "", {}, {}};
      bool ok =
          collect(a, {a.pid, b.pid}, part, std::chrono::milliseconds(50),
                  std::chrono::milliseconds(static_cast<long>(opt.row_timeout_s * 1000)), true);
      Row echo;
      ok = collect(b, {b.pid}, echo, std::chrono::milliseconds(50), std::chrono::seconds(10),
                   false) &&
           ok;
      Row& row = rows[name];
      if (part.unavailable || echo.unavailable) {
        row.unavailable = row.skipped = true;
        row.note = part.unavailable ? part.note : echo.note;
        continue;
      }
      if (!ok) {
        row.note = part.note.empty() ? echo.note : part.note;
        row.failed = true;
      }
      for (const char* k2 : {"user_threads_peak", "iowq_workers_peak", "rss_kib_peak"})
        row.set(k2, std::max(row.get_or(k2, 0), part.get_or(k2, 0)));
      for (const char* k2 : {"user_threads_end", "iowq_workers_end", "fds_end", "rss_kib_end"})
        row.set(k2, part.get_or(k2, 0));
      if (Series* s = part.find_series("lat_us")) {
        lat[name].insert(lat[name].end(), s->y.begin(), s->y.end());
        std::vector<double> sorted = s->y;
        std::sort(sorted.begin(), sorted.end());
        chunk_p50[name].push_back(percentile(sorted, 50));
      }
    }
  }
  ::unlink(ping.c_str());
  ::unlink(pong.c_str());
  for (const auto& name : opt.strategies) {
    Row& row = rows[name];
    if (row.unavailable) {
      ctx.report.rows.push_back(std::move(row));
      continue;
    }
    std::vector<double>& v = lat[name];
    std::sort(v.begin(), v.end());
    row.set("round_trips", static_cast<double>(v.size()));
    // The chunks are the repetitions: p50 is the median of their p50s, and
    // their smallest and largest p50 the spread a verdict must clear.
    const std::vector<double>& cp = chunk_p50[name];
    row.set("p50_us", median(cp));
    row.set("p50_us_min", cp.empty() ? 0 : *std::min_element(cp.begin(), cp.end()));
    row.set("p50_us_max", cp.empty() ? 0 : *std::max_element(cp.begin(), cp.end()));
    row.set("pooled_p50_us", percentile(v, 50));
    row.set("p90_us", percentile(v, 90));
    row.set("p99_us", percentile(v, 99));
    row.set("p99.9_us", percentile(v, 99.9));
    row.set("max_us", v.empty() ? 0 : v.back());
    row.set("chunks", static_cast<double>(cp.size()));
    Series cdf_s{"latency_cdf", {}, {}};
    cdf(v, 60, cdf_s.x, cdf_s.y);
    row.series.push_back(std::move(cdf_s));
    if (row.note.empty()) row.note = pinning + "; " + make_strategy(name, opt)->model();
    if (v.empty() && row.note.find("failed") == std::string::npos)
      row.note += "; no round trips measured";
    ctx.report.rows.push_back(std::move(row));
  }
}

} // namespace aiobench
