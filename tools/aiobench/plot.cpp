#include "plot.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace aiobench {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

struct Line {
  std::string title;
  std::string file;
};

struct Axes {
  bool logx = false;
  bool logy = false;
  bool errbars = false; // data files have "x y ylow yhigh": the spread of the repetitions
};

// One chart: lines from data files, each "x y" (or "x y lo hi") per line.
std::string chart(const std::string& svg, const std::string& title, const std::string& xlabel,
                  const std::string& ylabel, const std::vector<Line>& lines, Axes ax) {
  std::string s = fmt::format("set terminal svg size 900,500 dynamic background rgb 'white'\n"
                              "set output {}\nset title {}\nset xlabel {}\nset ylabel {}\n"
                              "set key outside right\nset grid\n"
                              // A margin, so a point on the first or last x
                              // (epoll's one depth) is not drawn on the axis.
                              "set offsets graph 0.05, graph 0.05, 0, 0\n{}{}",
                              quoted(svg), quoted(title), quoted(xlabel), quoted(ylabel),
                              ax.logx ? "set logscale x\n" : "unset logscale x\n",
                              ax.logy ? "set logscale y\n" : "unset logscale y\n");
  s += "plot ";
  for (std::size_t i = 0; i < lines.size(); ++i)
    s += fmt::format("{}{} using {} with {} title {}", i ? ", " : "", quoted(lines[i].file),
                     ax.errbars ? "1:2:3:4" : "1:2", ax.errbars ? "yerrorlines" : "linespoints",
                     quoted(lines[i].title));
  return s + "\n";
}

std::string write_dat(const std::string& path, const std::vector<double>& x,
                      const std::vector<double>& y) {
  std::ofstream f(path);
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    f << x[i] << ' ' << y[i] << '\n';
  return path;
}

struct Point {
  double x, y, lo, hi;
};

std::string write_err_dat(const std::string& path, std::vector<Point> pts) {
  std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
  std::ofstream f(path);
  for (const auto& p : pts)
    f << p.x << ' ' << p.y << ' ' << p.lo << ' ' << p.hi << '\n';
  return path;
}

std::string safe_name(std::string s) {
  for (char& c : s)
    if (c == ' ' || c == '/') c = '-';
  return s;
}

} // namespace

std::string find_gnuplot() {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path != nullptr ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(ss, d, ':')) {
    std::string p = (d.empty() ? "." : d) + "/gnuplot";
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::string write_plots(const Report& r, const std::string& dir, const std::string& gnuplot) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot create '{}': {}", dir, ec.message());
  std::string script;
  // Threads over time in the cancel storm: the leak, drawn.
  std::vector<Line> storm;
  for (const auto& row : r.rows) {
    if (row.scenario != "cancel-storm" || row.skipped) continue;
    for (const auto& s : row.series) {
      if (s.name != "user_threads" && s.name != "iowq_workers") continue;
      std::string f = fmt::format("{}/cancel-storm-{}-{}.dat", dir, row.strategy, s.name);
      storm.push_back({row.strategy + (s.name == "user_threads" ? " threads" : " io-wq workers"),
                       write_dat(f, s.x, s.y)});
    }
  }
  if (!storm.empty())
    script += chart(dir + "/cancel-storm-threads.svg", "cancel-storm: threads over time", "seconds",
                    "tasks in the process", storm, {});
  std::vector<Line> lat;
  for (const auto& row : r.rows) {
    if (row.scenario != "fifo-latency" || row.skipped) continue;
    for (const auto& s : row.series)
      if (s.name == "latency_cdf" && !s.x.empty())
        lat.push_back(
            {row.strategy,
             write_dat(fmt::format("{}/fifo-latency-{}.dat", dir, row.strategy), s.x, s.y)});
  }
  if (!lat.empty())
    script += chart(dir + "/fifo-latency-cdf.svg", "fifo-latency: round-trip latency CDF",
                    "microseconds (log)", "fraction of round trips", lat, {true, false, false});
  // file-read: buffered and direct apart (their IOPS differ 100x), each
  // figure by queue depth with the repetitions' spread as error bars, and
  // the latency CDF at each depth on a log axis (the tail is the story).
  struct ByDepth {
    std::map<std::string, std::vector<Point>> iops, iops_per_cpu_s, p50;
  };
  std::map<std::string, ByDepth> fr;             // "pattern mode"
  std::map<std::string, std::vector<Line>> cdfs; // "pattern mode qdN"
  for (const auto& row : r.rows) {
    if (row.scenario != "file-read" || row.skipped || row.failed || row.variant.empty()) continue;
    std::istringstream v(row.variant);
    std::string pattern, depth, mode;
    v >> pattern >> depth >> mode;
    std::string pm = pattern + " " + mode;
    double d = row.get_or("depth", 0);
    auto pt = [&](const std::string& k, double scale) {
      double m = row.get_or(k, 0) * scale;
      return Point{d, m, row.get_or(k + "_min", m / scale) * scale,
                   row.get_or(k + "_max", m / scale) * scale};
    };
    fr[pm].iops[row.strategy].push_back(pt("iops", 1e-3));
    fr[pm].p50[row.strategy].push_back(pt("p50_us", 1));
    // IOPS per CPU-second of the whole process: 1e6 / (CPU us per op).
    auto per_cpu = [](double us) { return us > 0 ? 1e3 / us : 0; }; // k ops per CPU-second
    double c = row.get_or("cpu_us_per_op", 0);
    fr[pm].iops_per_cpu_s[row.strategy].push_back({d, per_cpu(c),
                                                   per_cpu(row.get_or("cpu_us_per_op_max", c)),
                                                   per_cpu(row.get_or("cpu_us_per_op_min", c))});
    for (const auto& s : row.series)
      if (s.name == "latency_cdf" && !s.x.empty()) {
        std::string f =
            fmt::format("{}/file-read-{}-{}-cdf.dat", dir, safe_name(row.variant), row.strategy);
        cdfs[row.variant].push_back({row.strategy, write_dat(f, s.x, s.y)});
      }
  }
  for (auto& [pm, by] : fr) {
    std::string base = fmt::format("{}/file-read-{}", dir, safe_name(pm));
    auto lines = [&](std::map<std::string, std::vector<Point>>& m, const char* what) {
      std::vector<Line> ls;
      for (auto& [name, pts] : m)
        ls.push_back({name, write_err_dat(fmt::format("{}-{}-{}.dat", base, what, name), pts)});
      return ls;
    };
    script += chart(
        base + "-iops.svg", fmt::format("file-read {}: IOPS by queue depth (median, min-max)", pm),
        "queue depth (log)", "thousand IOPS", lines(by.iops, "iops"), {true, false, true});
    script += chart(base + "-iops-per-cpu.svg",
                    fmt::format("file-read {}: reads per CPU-second of the process", pm),
                    "queue depth (log)", "thousand reads per CPU-second",
                    lines(by.iops_per_cpu_s, "iops-per-cpu"), {true, false, true});
    script +=
        chart(base + "-p50.svg",
              fmt::format("file-read {}: p50 latency by queue depth (median, min-max)", pm),
              "queue depth (log)", "microseconds (log)", lines(by.p50, "p50"), {true, true, true});
  }
  for (auto& [variant, ls] : cdfs)
    script += chart(fmt::format("{}/file-read-{}-cdf.svg", dir, safe_name(variant)),
                    fmt::format("file-read {}: latency CDF (the median repetition)", variant),
                    "microseconds from issue to result (log)", "fraction of reads", ls,
                    {true, false, false});
  if (script.empty()) return "nothing to plot for the selected scenarios";
  std::string gp = dir + "/aiobench.gp";
  {
    std::ofstream f(gp);
    f << script;
    if (!f) return fmt::format("cannot write '{}'", gp);
  }
  pid_t pid = fork();
  if (pid == 0) {
    execl(gnuplot.c_str(), "gnuplot", gp.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return fmt::format("gnuplot failed on '{}'", gp);
  return "";
}

} // namespace aiobench
