// Units of aiobench's logic: statistics, option handling, the thread-pool
// model's growth and leak behaviour, /proc counting, and the writers.
#include "blocking_pool.hpp"
#include "child.hpp"
#include "figures.hpp"
#include "options.hpp"
#include "proc.hpp"
#include "repetitions.hpp"
#include "report.hpp"
#include "stats.hpp"
#include "strategy.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace aiobench;
using namespace std::chrono_literals;

TEST_CASE("percentiles are nearest-rank over sorted samples") {
  std::vector<double> v;
  for (int i = 1; i <= 1000; ++i)
    v.push_back(i);
  CHECK(percentile(v, 50) == 500);
  CHECK(percentile(v, 99) == 990);
  CHECK(percentile(v, 99.9) == 999);
  CHECK(percentile(v, 100) == 1000);
  CHECK(percentile({}, 50) == 0);
  std::vector<double> x, y;
  cdf(v, 10, x, y);
  REQUIRE(x.size() == y.size());
  CHECK(y.back() == 1.0);
  CHECK(x.back() == 1000);
  for (std::size_t i = 1; i < x.size(); ++i)
    CHECK(x[i] >= x[i - 1]);
}

TEST_CASE("names expand and bad options are refused") {
  CHECK(expand_names({"all"}, kStrategies) == kStrategies);
  CHECK(expand_names({"uring,sync", "uring"}, kStrategies) ==
        std::vector<std::string>{"uring", "sync"});
  Options o;
  CHECK(validate(o).empty());
  o.strategies = {"tokio"};
  CHECK(validate(o).find("tokio") != std::string::npos);
  o = Options{};
  o.depths = {0};
  CHECK_FALSE(validate(o).empty());
  o = Options{};
  o.pin = "sideways";
  CHECK_FALSE(validate(o).empty());
  o = Options{};
  o.pool_job = "per-byte";
  CHECK(validate(o).find("--pool-job") != std::string::npos);
}

TEST_CASE("the pool spawns on demand up to its cap and queues beyond it") {
  int p[2];
  REQUIRE(pipe(p) == 0);
  {
    BlockingPool pool(4, 10s);
    std::atomic<int> done{0};
    // Six reads on a silent pipe: four threads block, two jobs wait.
    for (int i = 0; i < 6; ++i)
      pool.spawn([&] {
        char b;
        if (::read(p[0], &b, 1) == 1) ++done;
      });
    for (int i = 0; i < 200 && pool.live_threads() < 4; ++i)
      std::this_thread::sleep_for(1ms);
    CHECK(pool.live_threads() == 4);
    CHECK(pool.spawned_total() == 4);
    std::this_thread::sleep_for(10ms);
    CHECK(pool.queued() == 2);
    // Nothing can take a blocked read back: only data frees the threads.
    REQUIRE(::write(p[1], "abcdef", 6) == 6);
    for (int i = 0; i < 2000 && done < 6; ++i)
      std::this_thread::sleep_for(1ms);
    CHECK(done == 6);
  }
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("idle pool threads go away after the keep-alive") {
  BlockingPool pool(8, 30ms);
  CompletionQueue cq;
  pool.spawn([&] { cq.push({1, 0}); });
  CompletionQueue::Done d{};
  REQUIRE(cq.pop(d, std::chrono::microseconds(-1)));
  CHECK(d.id == 1);
  for (int i = 0; i < 2000 && pool.live_threads() > 0; ++i)
    std::this_thread::sleep_for(1ms);
  CHECK(pool.live_threads() == 0);
  CHECK_FALSE(cq.pop(d, std::chrono::microseconds(1000)));
}

namespace {

// A 1 MiB file for the strategies' file_read, removed on scope exit.
struct ReadFile {
  ReadFile() {
    char tmpl[] = "/tmp/aiobench-read-XXXXXX";
    fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
    std::vector<char> b(1u << 20, 'r');
    REQUIRE(::write(fd, b.data(), b.size()) == static_cast<ssize_t>(b.size()));
  }
  ~ReadFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  int fd;
  std::string path;
};

} // namespace

TEST_CASE("pool-per-attempt file-read with --pool-job stream: depth jobs on depth pool threads") {
  ReadFile f;
  Options o;
  o.pool_job = "stream";
  auto tp = make_strategy("pool-per-attempt", o);
  CHECK(tp->model().find("per stream of reads") != std::string::npos);
  bool random = true;
  SUBCASE("random offsets") { random = true; }
  SUBCASE("one shared sequential stream") { random = false; }
  ReadJob job{f.fd, 4096, random, 4, 1u << 20, 0.05, 0};
  ReadOutcome out = tp->file_read(job);
  CHECK(out.ops > 0);
  CHECK(out.errors == 0);
  CHECK(out.bytes == out.ops * 4096);
  CHECK(out.lat_us.size() == out.ops);
  // Each job is a whole loop of reads: no thread per read.
  CHECK(out.pool_jobs == 4);
  CHECK(out.pool_threads == 4);
}

TEST_CASE("pool-per-attempt file-read with --pool-job read: a pool job per read") {
  ReadFile f;
  Options o;
  auto tp = make_strategy("pool-per-attempt", o);
  CHECK(tp->model().find("per read") != std::string::npos);
  ReadJob job{f.fd, 4096, true, 1, 1u << 20, 0.05, 0};
  ReadOutcome out = tp->file_read(job);
  CHECK(out.ops > 0);
  CHECK(out.errors == 0);
  CHECK(out.bytes == out.ops * 4096);
  // Every read, and nothing else, was handed to the pool.
  CHECK(out.pool_jobs == out.ops);
  CHECK(out.pool_threads >= 1);
}

TEST_CASE("task counting sees our own threads") {
  // Threads of earlier cases (a pool's abandoned readers) may still be on
  // their way out: count once they are gone, or the +1 below is a race.
  TaskCounts before = task_counts();
  for (int i = 0; i < 500 && before.user > 1; ++i) {
    std::this_thread::sleep_for(10ms);
    before = task_counts();
  }
  CHECK(before.user >= 1);
  std::atomic<bool> stop{false};
  std::thread t([&] {
    while (!stop)
      std::this_thread::sleep_for(1ms);
  });
  CHECK(task_counts().user == before.user + 1);
  stop = true;
  t.join();
  CHECK(rss_kib() > 0);
  CHECK(fd_count() >= 3);
  CHECK(fs_type("/proc") != "");
  CHECK(cpu_count() >= 1);
}

TEST_CASE("the table shows skipped rows and the verdicts") {
  Options o;
  o.scenarios = {"shutdown"};
  Report r;
  r.host = {"6.x", "2.3", 2, "/tmp/x", "ext4", "0.1.0"};
  Row a{"shutdown", "uring", "", false, "", {}, {}};
  a.set("exit_ms", 1.5);
  a.set("blocked", 0);
  Row b{"shutdown", "sync", "", false, "", {}, {}};
  b.set("exit_ms", 1000);
  b.set("blocked", 1);
  Row c{"shutdown", "epoll", "", true, "not today", {}, {}};
  r.rows = {a, b, c};
  add_verdicts(r, o);
  std::FILE* f = std::tmpfile();
  print_table(f, r, o);
  std::rewind(f);
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f))
    text.append(buf, n);
  std::fclose(f);
  CHECK(text.find("kernel 6.x, liburing 2.3, 2 CPUs") != std::string::npos);
  CHECK(text.find("n/a: not today") != std::string::npos);
  CHECK(text.find("sync could not exit") != std::string::npos);
  std::string json = to_json(r, o);
  CHECK(json.find("\"schema\": \"aiobench/2\"") != std::string::npos);
  CHECK(json.find("\"pool_job\": \"read\"") != std::string::npos);
  CHECK(json.find("\"scenarios\": [\n      \"shutdown\"\n    ]") != std::string::npos);
  CHECK(json.find("\"exit_ms\": 1.5") != std::string::npos);
}

namespace {
Row read_rep(const std::string& strategy, double iops, double peak) {
  Row r{"file-read", strategy, "rand4k qd1 buffered", false, "", {}, {}};
  r.set("iops", iops);
  r.set("p50_us", 1e6 / iops);
  r.set("ops", iops / 10);
  r.set("user_threads_peak", peak);
  return r;
}

Row merged(const std::string& strategy, std::initializer_list<double> iops, double peak = 1) {
  std::vector<Row> reps;
  for (double x : iops)
    reps.push_back(read_rep(strategy, x, peak));
  return merge_repetitions(reps, read_spread_keys());
}

bool has_verdict_about(const Report& r, const std::string& what) {
  for (const auto& v : r.verdicts)
    if (v.find(what) != std::string::npos) return true;
  return false;
}
} // namespace

TEST_CASE("repetitions fold into median, min and max; peaks take the maximum, ops the sum") {
  std::vector<Row> reps = {read_rep("sync", 300, 1), read_rep("sync", 100, 3),
                           read_rep("sync", 200, 2)};
  Row m = merge_repetitions(reps, read_spread_keys());
  CHECK(m.get_or("iops", 0) == 200);
  CHECK(m.get_or("iops_min", 0) == 100);
  CHECK(m.get_or("iops_max", 0) == 300);
  CHECK(m.get_or("user_threads_peak", 0) == 3);
  CHECK(m.get_or("ops", 0) == 60);
  CHECK(m.get_or("reps", 0) == 3);
  CHECK_FALSE(m.get("user_threads_peak_min"));
  reps[1].failed = true;
  reps[1].note = "failed: did not finish";
  Row f = merge_repetitions(reps, read_spread_keys());
  CHECK(f.failed);
  CHECK(f.note == "failed: did not finish");
}

TEST_CASE("spreads apart: only when the min-max ranges do not overlap, either way round") {
  Row a = merged("sync", {100, 110, 120});
  Row b = merged("uring", {115, 130, 140});
  Row c = merged("uring", {121, 130, 140});
  CHECK_FALSE(spreads_apart(a, b, "iops"));
  CHECK_FALSE(spreads_apart(b, a, "iops"));
  CHECK(spreads_apart(a, c, "iops"));
  CHECK(spreads_apart(c, a, "iops"));
  CHECK_FALSE(spreads_apart(a, c, "no_such_figure"));
}

TEST_CASE("file-read verdicts: none from overlapping spreads, the same rule both directions") {
  Options o;
  o.scenarios = {"file-read"};
  o.strategies = {"uring", "sync", "epoll"};
  Report r;
  // One sample of epoll once read 2.6x sync's; spreads that overlap uring's
  // must give no claim, however far apart the medians are.
  r.rows = {merged("uring", {100, 200, 300}), merged("sync", {290, 600, 700}, 1),
            merged("epoll", {50, 60, 70})};
  add_verdicts(r, o);
  CHECK_FALSE(has_verdict_about(r, "sync 3.00x"));
  CHECK(has_verdict_about(r, "behind: epoll 0.30x"));
  CHECK(has_verdict_about(r, "1 comparison(s) with uring had overlapping spreads"));
  CHECK_FALSE(has_verdict_about(r, "cannot be cancelled."));
  // Apart the other way: the same sentence shape, "ahead".
  r.rows[1] = merged("sync", {301, 600, 700});
  r.verdicts.clear();
  add_verdicts(r, o);
  CHECK(has_verdict_about(r, "ahead: sync 3.00x"));
  for (const auto& v : r.verdicts)
    CHECK(v.find("their reads cannot be cancelled") == std::string::npos);
}

TEST_CASE("every strategy times a read from its issue: each slot's latencies cover the run") {
  // A closed loop of `depth` slots issues a read the moment the slot's last
  // result is in hand, so each slot's latencies add up to the time it ran
  // (at least the duration): an accounting identity that holds however
  // loaded the machine is. Timing only the pread call (as sync and epoll
  // once did) leaves out the time between calls and falls short of it.
  ReadFile f;
  Options o;
  std::string name;
  unsigned depth = 4;
  SUBCASE("sync") { name = "sync"; }
  SUBCASE("epoll") {
    name = "epoll";
    depth = 1;
  }
  SUBCASE("pool, a job per read") { name = "pool-per-attempt"; }
  SUBCASE("tokio-file") { name = "tokio-file"; }
  SUBCASE("pool, a job per stream") {
    name = "pool-per-attempt";
    o.pool_job = "stream";
  }
  SUBCASE("uring") { name = "uring"; }
  SUBCASE("uring, one ring per thread") {
    name = "uring-rings";
    o.rings = 2;
  }
  auto s = make_strategy(name, o);
  const double duration = 0.05;
  ReadJob job{f.fd, 4096, true, depth, 1u << 20, duration, 2};
  ReadOutcome out;
  try {
    out = s->file_read(job);
  } catch (const Unavailable& e) {
    MESSAGE("skip: io_uring unavailable here: ", e.what());
    return;
  }
  REQUIRE(out.ops > 0);
  double sum = 0;
  for (double x : out.lat_us)
    sum += x;
  INFO(name, " ops ", out.ops, " sum us ", sum);
  // 1 us per slot of slack: the last deadline check follows the last clock read.
  CHECK(sum >= depth * (duration * 1e6 - 1));
  CHECK(sum <= depth * out.elapsed_s * 1e6 + 1);
}

TEST_CASE("tokio-file file-read: a seek and a read per read, each its own pool job") {
  ReadFile f;
  Options o;
  auto tf = make_strategy("tokio-file", o);
  CHECK(tf->model().find("seek + read") != std::string::npos);
  ReadJob job{f.fd, 4096, true, 2, 1u << 20, 0.05, 0};
  ReadOutcome out = tf->file_read(job);
  CHECK(out.ops > 0);
  CHECK(out.errors == 0);
  CHECK(out.bytes == out.ops * 4096);
  CHECK(out.pool_jobs == 2 * out.ops);
}
