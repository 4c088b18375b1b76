#include "run.hpp"

#include "child.hpp"
#include "plot.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace aiobench {

// NO_COLOR also means no terminal escapes: the line is then cleared by
// overwriting it with spaces.
namespace {
bool plain_terminal() {
  const char* nc = std::getenv("NO_COLOR");
  return nc != nullptr && *nc != '\0';
}
} // namespace

void Progress::show(const std::string& what) {
  if (!on_) return;
  if (plain_terminal())
    fmt::print(stderr, "\r{:<79.79}", "aiobench: " + what);
  else
    fmt::print(stderr, "\r\033[Kaiobench: {}", what);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::done() {
  if (on_ && shown_) {
    if (plain_terminal())
      fmt::print(stderr, "\r{:79}\r", "");
    else
      fmt::print(stderr, "\r\033[K");
  }
  shown_ = false;
}

void make_fifo(const std::string& path) {
  ::unlink(path.c_str());
  if (mkfifo(path.c_str(), 0600) != 0)
    throw std::runtime_error(fmt::format("cannot make FIFO '{}': {}", path, std::strerror(errno)));
}

HostFacts host_facts(const std::string& dir) {
  HostFacts h;
  h.kernel = kernel_release();
  h.liburing = AIOBENCH_LIBURING_VERSION;
  h.cpus = cpu_count();
  h.test_dir = dir;
  h.test_dir_fs = fs_type(dir);
  h.aiobench_version = AIOBENCH_VERSION;
  return h;
}

void measure(const Options& opt, const std::string& dir, Report& report) {
  Progress progress(opt.progress);
  // uring-rings and uring-sqpoll are file-read rows only: the other scenarios run without it.
  Options others = opt;
  std::erase_if(others.strategies, file_read_only);
  double t0 = now_s();
  for (const auto& s : opt.scenarios) {
    if (interrupted()) break;
    Context ctx{s == "file-read" ? opt : others, dir, report, progress};
    if (s == "cancel-storm")
      run_cancel_storm(ctx);
    else if (s == "fifo-latency")
      run_fifo_latency(ctx);
    else if (s == "file-read")
      run_file_read(ctx);
    else if (s == "write-visibility")
      run_write_visibility(ctx);
    else if (s == "shutdown")
      run_shutdown(ctx);
  }
  progress.done();
  report.wall_s = now_s() - t0;
}

namespace {
volatile sig_atomic_t g_signal = 0;

// Whether `path` could be written (made or replaced) without making it.
std::string check_writable(const std::string& path, const char* what, bool is_dir) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (is_dir != S_ISDIR(st.st_mode))
      return fmt::format("{} '{}': {}", what, path, is_dir ? "not a directory" : "is a directory");
    if (::access(path.c_str(), W_OK) != 0)
      return fmt::format("{} '{}': {}", what, path, std::strerror(errno));
    return "";
  }
  if (errno != ENOENT) return fmt::format("{} '{}': {}", what, path, std::strerror(errno));
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (parent.empty()) parent = ".";
  if (::access(parent.c_str(), W_OK) != 0)
    return fmt::format("{} '{}': cannot be made in '{}': {}", what, path, parent,
                       std::strerror(errno));
  return "";
}

std::string check_environment(const Options& opt) {
  if (!opt.file.empty()) {
    struct stat st {};
    if (::stat(opt.file.c_str(), &st) != 0)
      return fmt::format("--file '{}': {}", opt.file, std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fmt::format("--file '{}': not a regular file", opt.file);
    if (::access(opt.file.c_str(), R_OK) != 0)
      return fmt::format("--file '{}': {}", opt.file, std::strerror(errno));
  }
  if (!opt.json.empty() && opt.json != "-")
    if (auto e = check_writable(opt.json, "--json", false); !e.empty()) return e;
  if (!opt.plot.empty())
    if (auto e = check_writable(opt.plot, "--plot", true); !e.empty()) return e;
  return "";
}
void on_signal(int sig) { g_signal = sig; }
} // namespace

bool interrupted() { return g_signal != 0; }
int interrupted_signal() { return g_signal; }

int run(const Options& opt) {
  std::string gnuplot;
  if (!opt.plot.empty()) {
    gnuplot = find_gnuplot();
    if (gnuplot.empty()) {
      fmt::print(stderr, "aiobench: --plot needs gnuplot, which is not installed "
                         "(e.g. apt install gnuplot-nox)\n");
      return 3;
    }
  }
  // Environment errors are found before the minute of measuring, not after.
  if (auto err = check_environment(opt); !err.empty()) {
    fmt::print(stderr, "aiobench: {}\n", err);
    return 1;
  }
  std::string base = opt.dir;
  if (base.empty()) {
    const char* t = std::getenv("TMPDIR");
    base = t != nullptr && *t != '\0' ? t : "/tmp";
  }
  std::string tmpl = base + "/aiobench.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    fmt::print(stderr, "aiobench: cannot make a directory in '{}': {}\n", base,
               std::strerror(errno));
    return 1;
  }
  std::string dir = tmpl;
  // SIGINT/SIGTERM end the run between measurements (the children are
  // killed), so the test directory is still removed.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler != SIG_IGN) sigaction(sig, &sa, nullptr);
  }
  signal(SIGPIPE, SIG_IGN);
  Report report;
  report.host = host_facts(dir);
  int code = 0;
  try {
    measure(opt, dir, report);
  } catch (const std::exception& e) {
    fmt::print(stderr, "aiobench: {}\n", e.what());
    code = 1;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (g_signal != 0) return 128 + g_signal; // main dies of the signal itself
  if (code != 0) return code;
  add_verdicts(report, opt);
  std::FILE* table = opt.json == "-" ? stderr : stdout;
  print_table(table, report, opt);
  std::fflush(table);
  if (!opt.json.empty()) {
    if (auto err = write_file(opt.json, to_json(report, opt)); !err.empty()) {
      fmt::print(stderr, "aiobench: {}\n", err);
      code = 1;
    }
  }
  if (!opt.plot.empty()) {
    if (auto err = write_plots(report, opt.plot, gnuplot); !err.empty()) {
      fmt::print(stderr, "aiobench: {}\n", err);
      code = 1;
    }
  }
  // A failed row is named on stderr too: a table on a pipe may go unread.
  for (const auto& row : report.rows)
    if (row.failed) {
      fmt::print(stderr, "aiobench: {}/{}{}{}: {}\n", row.scenario, row.strategy,
                 row.variant.empty() ? "" : " ", row.variant, row.note);
      code = 1;
    }
  return code;
}

} // namespace aiobench
