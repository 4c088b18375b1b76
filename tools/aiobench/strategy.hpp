// The one interface every I/O strategy implements. Each method is the inner
// loop of one scenario; the scenario files do the setup (FIFOs, files,
// processes, pinning) the same way for every strategy, so only the I/O model
// differs. Every method runs inside a forked child (see child.hpp).
#pragma once

#include "options.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aiobench {

struct StormJob {
  int fd; // a FIFO's read end, O_NONBLOCK, its writer already connected
  unsigned rounds;
  std::chrono::microseconds work; // what each read races against
};

struct StormOutcome {
  std::uint64_t reads_won = 0;       // data arrived before the work finished
  std::uint64_t reads_cancelled = 0; // stopped in the kernel, or never armed (readiness)
  std::uint64_t reads_abandoned = 0; // left running on a thread, result unwanted
  std::uint64_t reads_resumed = 0;   // dropped while running; a later read took its result
  std::uint64_t bytes_lost = 0;      // bytes an abandoned read took that nobody will see
  std::uint64_t pool_queued = 0;     // jobs waiting for a thread at the end (cap reached)
  std::uint64_t pool_running = 0;    // pool threads inside a job at the end (blocked reads)
  std::uint64_t pool_spawned = 0;    // pool threads started in all
};

struct PingPongJob {
  int rfd; // O_NONBLOCK FIFO ends, both peers connected
  int wfd;
  unsigned rounds;
  bool initiator; // writes first and times each round trip
  std::size_t msg;
};

struct ReadJob {
  int fd;
  std::size_t block;
  bool random;
  unsigned depth;
  std::uint64_t file_size;
  double duration_s;
  unsigned iowq_cap;
};

struct ReadOutcome {
  std::uint64_t ops = 0;
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;
  double elapsed_s = 0;
  // One per operation, on one clock for every strategy: from the moment the
  // application issues the request to the moment its result is in hand. The
  // loops are closed (each of `depth` slots issues its next read as soon as
  // its last result is in hand), so a read is issued when its slot's
  // previous result arrived (the first at the common start): time a thread
  // waits for a CPU between its reads, or a completion waits to be reaped,
  // is in the figure, and mean latency = depth / IOPS (Little's law).
  std::vector<double> lat_us;
  // pool-per-attempt and tokio-file only: jobs handed to the pool and threads it started, so the
  // shape of the model (a job per read or per stream) shows in the figures.
  std::uint64_t pool_jobs = 0;
  std::uint64_t pool_threads = 0;
};

struct VisJob {
  int fd; // a regular file, empty at start
  std::string path;
  std::size_t size; // bytes per write: large, so a queued write is still running when checked
  unsigned rounds;
};

struct VisOutcome {
  unsigned rounds = 0;
  unsigned not_visible = 0; // reported done, but fstat from another task did not see it
  // The write call returned while its last bytes were still being written
  // (tokio-file's queued writes): what makes not_visible possible, counted
  // at the return itself rather than by a racing check.
  unsigned returned_before_written = 0;
};

struct ShutdownJob {
  int fifo_fd;    // a silent FIFO's read end, O_NONBLOCK, writer connected
  int control_fd; // the parent writes one byte here to ask for the exit
  int ready_fd;   // we write one byte here once the FIFO read is pending
};

class Strategy {
public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Why this strategy cannot run `scenario` ("" when it can).
  virtual std::string unsupported(const std::string& scenario) const = 0;
  // Threads and workers this strategy's model uses (for the notes).
  virtual std::string model() const = 0;

  virtual StormOutcome cancel_storm(const StormJob& job) = 0;
  // The initiator gets one latency (µs) per round trip; the echo side none.
  virtual std::vector<double> ping_pong(const PingPongJob& job) = 0;
  virtual ReadOutcome file_read(const ReadJob& job) = 0;
  virtual VisOutcome write_visibility(const VisJob& job) = 0;
  // Returns when this strategy lets its process exit after the control byte.
  virtual void shutdown(const ShutdownJob& job) = 0;
};

std::unique_ptr<Strategy> make_uring(const Options& o);
// file-read only: one ring per thread, --rings of them (0: one per CPU).
std::unique_ptr<Strategy> make_uring_rings(const Options& o);
// file-read on one ring set up with IORING_SETUP_SQPOLL: a kernel thread
// (iou-sqp-PID) submits, the program's one thread only reaps.
std::unique_ptr<Strategy> make_uring_sqpoll(const Options& o);
std::unique_ptr<Strategy> make_pool_per_attempt(const Options& o);
std::unique_ptr<Strategy> make_tokio_file(const Options& o);
std::unique_ptr<Strategy> make_epoll(const Options& o);
std::unique_ptr<Strategy> make_sync(const Options& o);
std::unique_ptr<Strategy> make_strategy(const std::string& name, const Options& o);

// Shared helpers of the strategies.
void set_blocking(int fd, bool blocking);
std::uint64_t next_offset(std::uint64_t& rng, const ReadJob& job, std::uint64_t& seq_pos);
double mono_us(); // CLOCK_MONOTONIC in microseconds
// One blocking pread loop until `deadline` (mono_us), latencies included (no
// elapsed_s): what each sync thread runs, and each streaming pool job, so
// the two differ only in who starts the thread. `id` seeds the random
// offsets; sequential ones come from `seq`, shared by every loop of a run
// (one stream, as uring's depth reads one).
// `start` (mono_us) is when the run began: the first read's issue time.
ReadOutcome pread_loop(const ReadJob& job, unsigned id, double start, double deadline,
                       std::atomic<std::uint64_t>& seq);
// write-visibility with blocking pwrite then fstat: the epoll and sync
// strategies both write files this way (readiness cannot apply to files).
VisOutcome blocking_write_visibility(const VisJob& job);

} // namespace aiobench
