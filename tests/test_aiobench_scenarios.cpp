// Scenario outcomes through the library (each measurement in its own child
// process): the thread-pool leak is real, uring's cancel leaves nothing.
#include "figures.hpp"
#include "options.hpp"
#include "run.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

using namespace aiobench;

namespace {

struct Dir {
  Dir() {
    std::string t = (std::filesystem::temp_directory_path() / "aiobench-test-XXXXXX").string();
    REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

const Row* row(const Report& r, const std::string& scen, const std::string& strat,
               const std::string& variant = "") {
  for (const auto& x : r.rows)
    if (x.scenario == scen && x.strategy == strat && x.variant == variant) return &x;
  return nullptr;
}

} // namespace

TEST_CASE("cancel-storm: the pool keeps a thread per abandoned read; uring keeps one thread") {
  Dir d;
  Options o;
  apply_quick(o);
  o.scenarios = {"cancel-storm"};
  o.strategies = {"uring", "pool-per-attempt", "tokio-file", "epoll", "sync"};
  o.storm_rounds = 150;
  o.pool_cap = 64;
  Report r;
  measure(o, d.path, r);
  const Row* tp = row(r, "cancel-storm", "pool-per-attempt");
  const Row* tf = row(r, "cancel-storm", "tokio-file");
  const Row* u = row(r, "cancel-storm", "uring");
  const Row* e = row(r, "cancel-storm", "epoll");
  const Row* s = row(r, "cancel-storm", "sync");
  REQUIRE(tp);
  REQUIRE(tf);
  REQUIRE(u);
  REQUIRE(e);
  REQUIRE(s);
  INFO(tp->note, u->note);
  // 150 reads lose against a writer that writes every 25 ms: the pool is at
  // its cap, and the threads stay blocked.
  CHECK(tp->get_or("user_threads_peak", 0) == 65);
  CHECK(tp->get_or("user_threads_end", 0) == 65);
  CHECK(tp->get_or("reads_abandoned", 0) > 100);
  CHECK(tp->get_or("pool_queued_end", 0) > 0);
  // Another test on this machine may disable io_uring for a moment
  // (kernel.io_uring_disabled=2): the row then says so, and is not checked.
  if (u->unavailable) {
    MESSAGE("skip: uring checks: ", u->note);
  } else {
    CHECK(u->get_or("user_threads_peak", 0) == 1);
    CHECK(u->get_or("user_threads_end", 0) == 1);
    CHECK(u->get_or("iowq_workers_peak", -1) == 0);
    CHECK(u->get_or("reads_abandoned", -1) == 0);
    CHECK(u->get_or("reads_won", 0) + u->get_or("reads_cancelled", 0) == 150);
    CHECK(u->get_or("fds_end", -1) == u->get_or("fds_start", -2));
  }
  CHECK(e->get_or("user_threads_peak", 0) == 1);
  CHECK(s->skipped);
  // One File kept across select!: a lost read stays in flight and the next
  // round takes its result. At most one job runs at a time, so the pool
  // never holds more than the reading thread and one idle one.
  INFO(tf->note);
  CHECK(tf->get_or("reads_abandoned", -1) == 0);
  CHECK(tf->get_or("bytes_lost", -1) == 0);
  CHECK(tf->get_or("reads_won", 0) + tf->get_or("reads_resumed", 0) == 150);
  CHECK(tf->get_or("reads_resumed", 0) > 100);
  CHECK(tf->get_or("pool_running_end", -1) <= 1);
  CHECK(tf->get_or("user_threads_peak", 0) <= 3);
  CHECK(tf->get_or("pool_threads_spawned", 0) <= 2);
}

TEST_CASE("cancel-storm: pool-per-attempt's threads grow with the rounds; tokio-file's do not") {
  Dir d;
  Options o;
  apply_quick(o);
  o.scenarios = {"cancel-storm"};
  o.strategies = {"pool-per-attempt", "tokio-file"};
  auto run_rounds = [&](unsigned rounds) {
    o.storm_rounds = rounds;
    Report r;
    measure(o, d.path, r);
    const Row* p = row(r, "cancel-storm", "pool-per-attempt");
    const Row* t = row(r, "cancel-storm", "tokio-file");
    REQUIRE(p);
    REQUIRE(t);
    return std::pair{p->get_or("user_threads_end", 0), t->get_or("user_threads_peak", 0)};
  };
  // The writer writes every 25 ms, so nearly every 200 us race is lost.
  auto [p40, t40] = run_rounds(40);
  auto [p160, t160] = run_rounds(160);
  INFO(p40, " ", p160, " ", t40, " ", t160);
  CHECK(p40 >= 20);
  CHECK(p160 >= p40 + 60);
  CHECK(t40 <= 3);
  CHECK(t160 <= 3);
}
