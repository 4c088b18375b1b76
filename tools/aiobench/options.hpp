// What a run measures. main.cpp fills it from the command line; the tests
// build it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aiobench {

inline const std::vector<std::string> kScenarios = {"cancel-storm", "fifo-latency", "file-read",
                                                    "write-visibility", "shutdown"};
inline const std::vector<std::string> kStrategies = {
    "uring", "uring-rings", "pool-per-attempt", "tokio-file", "epoll", "sync"};
// Run only when named (not by default nor by "all"): its kernel thread
// polls on a CPU of its own, which on a small host the other rows need.
inline const std::vector<std::string> kOptInStrategies = {"uring-sqpoll"};
// Strategies that only file-read runs (the other scenarios leave them out).
inline bool file_read_only(const std::string& strategy) {
  return strategy == "uring-rings" || strategy == "uring-sqpoll";
}

struct Options {
  std::vector<std::string> scenarios = kScenarios;
  std::vector<std::string> strategies = kStrategies;
  std::string dir;  // test directory; empty: $TMPDIR or /tmp
  std::string file; // file-read on this existing file instead of a made one
  std::string json; // write the JSON report here ("-": stdout)
  std::string plot; // write SVG charts into this directory

  // cancel-storm
  unsigned storm_rounds = 1000;
  unsigned storm_work_us = 200;     // the piece of work each read races against
  unsigned writer_interval_ms = 25; // the rare writer's period
  // fifo-latency
  unsigned latency_rounds = 2000; // round trips per strategy, over `latency_chunks`
  unsigned latency_chunks = 4;    // alternations of the strategies
  std::string pin = "split";      // split | same | none
  // file-read
  std::vector<std::string> patterns = {"rand4k", "seq128k"};
  std::vector<std::string> modes = {"buffered", "direct"};
  // The default grid leaves out qd8 (--full measures it): the minute goes
  // to repetitions of fewer points rather than one sample of many.
  std::vector<unsigned> depths = {1, 32};
  double duration_s = 0.25; // per repetition of a measured point
  unsigned reps = 3;        // repetitions of each file-read point, interleaved
  std::uint64_t file_size = 256ull << 20;
  unsigned iowq_cap = 0; // uring's io-wq cap for file-read; 0: max(2, depth)
  unsigned rings = 0;    // uring-rings: rings (threads); 0: one per CPU
  // write-visibility
  unsigned vis_rounds = 16;
  std::size_t vis_size = 8u << 20;
  // shutdown
  double shutdown_wait_s = 1.0; // how long to wait for an exit before feeding the FIFO
  // the blocking pool of pool-per-attempt and tokio-file
  unsigned pool_cap = 512;
  double pool_keepalive_s = 10;
  // pool-per-attempt's file-read job: "read" (one spawn_blocking per read) or
  // "stream" (each of `depth` jobs loops over preads, one spawn_blocking
  // around a read loop), to tell the pool's cost from the hand-off's.
  std::string pool_job = "read";

  double row_timeout_s = 120; // a row's child still running after this is killed: failed

  bool progress = false; // a progress line on stderr (only when it is a TTY)
};

// What one file-read pool job is, in words for the model, table and verdicts.
std::string pool_job_shape(const std::string& pool_job);
// Applies the tiny budget used by tests and smoke runs.
void apply_quick(Options& o);
// --full: every depth of the grid, qd8 included.
void apply_full(Options& o);
// Checks names and ranges; returns an error sentence or "".
std::string validate(const Options& o);
// Resolves "all" and comma lists: {"all"} -> every name; unknown names kept for validate.
std::vector<std::string> expand_names(const std::vector<std::string>& in,
                                      const std::vector<std::string>& all);

} // namespace aiobench
