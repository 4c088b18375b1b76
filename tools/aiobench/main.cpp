// aiobench: compare I/O strategies on this host. Parses the command line
// into Options and hands over to run().
#include "child.hpp"
#include "options.hpp"
#include "run.hpp"
#include "std_fds.hpp"

#include "aio/runtime.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  tools::reserve_std_fds();
  aiobench::Options o;
  CLI::App app{"aiobench: compare io_uring, a thread pool, epoll and blocking I/O on this host:\n"
               "threads, io-wq workers, leaks, latency and throughput."};
  // The backend a tool would run on here; aiobench's uring rows force io_uring.
  app.set_version_flag("-V,--version", [] {
    return std::string("aiobench ") + AIOBENCH_VERSION + "\n" + aio::backend_line();
  });
  std::vector<std::string> scenarios{"all"}, strategies{"all"}, patterns, modes;
  std::vector<unsigned> depths;
  long long rounds = 0, vis_rounds = 0, chunks = 0;
  double file_mib = 0, write_kib = 0;
  bool quick = false, full = false;
  app.add_option(
         "-s,--scenario", scenarios,
         "scenarios, comma-separated: cancel-storm, fifo-latency, file-read, write-visibility, "
         "shutdown, all")
      ->delimiter(',');
  app.add_option(
         "-S,--strategy", strategies,
         "strategies, comma-separated: uring, uring-rings (file-read only), pool-per-attempt, "
         "tokio-file, epoll, sync, all; uring-sqpoll (file-read only) runs only when named")
      ->delimiter(',');
  auto* rounds_opt =
      app.add_option("-r,--rounds", rounds, "rounds for cancel-storm and fifo-latency");
  // Its own option: a write-visibility round writes --write-size bytes, so
  // following --rounds would turn -r 2000 into 16 GiB of writes.
  auto* vis_opt = app.add_option("--vis-rounds", vis_rounds,
                                 "write-visibility: rounds (default 16; 8 with --quick)");
  app.add_option("-d,--duration", o.duration_s, "seconds per file-read point")
      ->capture_default_str();
  app.add_option("-D,--dir", o.dir,
                 "make the test directory under this one (default $TMPDIR or /tmp)");
  app.add_option("-f,--file", o.file, "file-read reads this existing file instead of making one");
  app.add_option("-j,--json", o.json, "write every figure as JSON to this file ('-': stdout)");
  app.add_option("-p,--plot", o.plot, "write SVG charts into this directory (needs gnuplot)");
  app.add_option("-q,--depth", depths, "file-read queue depths, comma-separated (1..256)")
      ->delimiter(',');
  app.add_option("--pattern", patterns, "file-read patterns: rand4k, seq128k, all")->delimiter(',');
  app.add_option("--mode", modes, "file-read modes: buffered, direct, all")->delimiter(',');
  auto* size_opt =
      app.add_option("--file-size", file_mib, "size of the file-read file in MiB (default 256)");
  app.add_option("--iowq-cap", o.iowq_cap,
                 "uring's io-wq worker cap in file-read (0: max(2, depth))")
      ->capture_default_str();
  app.add_option("--rings", o.rings,
                 "file-read: rings of the uring-rings row, one thread each (0: one per CPU)")
      ->capture_default_str();
  app.add_option("--work-us", o.storm_work_us, "cancel-storm: microseconds of work each read races")
      ->capture_default_str();
  app.add_option("--writer-interval", o.writer_interval_ms,
                 "cancel-storm: ms between the writer's bytes")
      ->capture_default_str();
  auto* chunks_opt =
      app.add_option("--chunks", chunks, "fifo-latency: alternations of the strategies")
          ->capture_default_str();
  app.add_option("--pin", o.pin, "fifo-latency pinning: split (two CPUs), same (one CPU), none")
      ->capture_default_str();
  auto* wsize_opt =
      app.add_option("--write-size", write_kib, "write-visibility: KiB per write (default 8192)");
  app.add_option("--shutdown-wait", o.shutdown_wait_s, "shutdown: seconds to wait for an exit")
      ->capture_default_str();
  app.add_option("--pool-cap", o.pool_cap,
                 "pool-per-attempt and tokio-file: the pool's thread cap (tokio: 512)")
      ->capture_default_str();
  app.add_option("--pool-keepalive", o.pool_keepalive_s, "the pool's idle thread lifetime, s")
      ->capture_default_str();
  app.add_option("--pool-job", o.pool_job,
                 "pool-per-attempt file-read: read (a spawn_blocking per read) or stream "
                 "(depth jobs, each a loop of reads)")
      ->capture_default_str();
  app.add_option("--timeout", o.row_timeout_s,
                 "seconds after which a row's child is killed and the row failed")
      ->capture_default_str();
  app.add_option("--reps", o.reps,
                 "file-read: repetitions of each point, interleaved (median and min-max shown)")
      ->capture_default_str();
  app.add_flag("--full", full, "file-read: the whole grid (queue depths 1, 8, 32)");
  app.add_flag("--quick", quick, "a tiny budget (a few seconds): smoke tests");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return tools::print_or_fail("aiobench", app.help());
  } catch (const CLI::CallForVersion& e) {
    return tools::print_or_fail("aiobench", std::string(e.what()) + "\n");
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "aiobench: {}\n", e.what());
    return 2;
  }
  if (full) aiobench::apply_full(o);
  if (quick) aiobench::apply_quick(o);
  o.scenarios = aiobench::expand_names(scenarios, aiobench::kScenarios);
  o.strategies = aiobench::expand_names(strategies, aiobench::kStrategies);
  // Given patterns and modes replace the defaults (--quick's included).
  if (!patterns.empty()) o.patterns = aiobench::expand_names(patterns, {"rand4k", "seq128k"});
  if (!modes.empty()) o.modes = aiobench::expand_names(modes, {"buffered", "direct"});
  if (!depths.empty()) o.depths = depths;
  // Given values are range-checked here rather than clamped: a negative or
  // zero count is a usage error, not a request for the default.
  auto usage = [](const char* what) {
    fmt::print(stderr, "aiobench: {}\n", what);
    return 2;
  };
  if (rounds_opt->count() > 0) {
    if (rounds < 1 || rounds > 100'000'000) return usage("--rounds must be 1..100000000");
    o.storm_rounds = o.latency_rounds = static_cast<unsigned>(rounds);
  }
  if (vis_opt->count() > 0) {
    if (vis_rounds < 1 || vis_rounds > 1'000'000) return usage("--vis-rounds must be 1..1000000");
    o.vis_rounds = static_cast<unsigned>(vis_rounds);
  }
  if (chunks_opt->count() > 0) {
    if (chunks < 1 || chunks > 1'000'000) return usage("--chunks must be 1..1000000");
    o.latency_chunks = static_cast<unsigned>(chunks);
  }
  if (size_opt->count() > 0) {
    if (!(file_mib >= 1) || file_mib > 1 << 20) return usage("--file-size must be 1..1048576 MiB");
    o.file_size = static_cast<std::uint64_t>(file_mib * 1024 * 1024);
  }
  if (wsize_opt->count() > 0) {
    if (!(write_kib >= 1) || write_kib > 1 << 20)
      return usage("--write-size must be 1..1048576 KiB");
    o.vis_size = static_cast<std::size_t>(write_kib * 1024);
  }
  if (auto err = aiobench::validate(o); !err.empty()) {
    fmt::print(stderr, "aiobench: {}\n", err);
    return 2;
  }
  o.progress = isatty(STDERR_FILENO) != 0;
  int code = aiobench::run(o);
  // Interrupted: the children are gone and the test directory removed, so
  // die of the signal itself, as the DESIGN asks of every tool (a shell
  // script then stops rather than running its next line).
  if (int sig = aiobench::interrupted_signal(); sig != 0) {
    std::fflush(nullptr); // raise() does not flush stdio
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    raise(sig);
  }
  if (!tools::close_stdout("aiobench") && code == 0) code = 1;
  return code;
}
