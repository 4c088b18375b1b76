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
  o.strategies = {"uring", "threadpool", "epoll", "sync"};
  o.storm_rounds = 150;
  o.pool_cap = 64;
  Report r;
  measure(o, d.path, r);
  const Row* tp = row(r, "cancel-storm", "threadpool");
  const Row* u = row(r, "cancel-storm", "uring");
  const Row* e = row(r, "cancel-storm", "epoll");
  const Row* s = row(r, "cancel-storm", "sync");
  REQUIRE(tp);
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
  CHECK(u->get_or("user_threads_peak", 0) == 1);
  CHECK(u->get_or("user_threads_end", 0) == 1);
  CHECK(u->get_or("iowq_workers_peak", -1) == 0);
  CHECK(u->get_or("reads_abandoned", -1) == 0);
  CHECK(u->get_or("reads_won", 0) + u->get_or("reads_cancelled", 0) == 150);
  CHECK(u->get_or("fds_end", -1) == u->get_or("fds_start", -2));
  CHECK(e->get_or("user_threads_peak", 0) == 1);
  CHECK(s->skipped);
}
