#include "plot.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

// One chart: lines from data files, each "x y" per line.
std::string chart(const std::string& svg, const std::string& title, const std::string& xlabel,
                  const std::string& ylabel, const std::vector<Line>& lines, bool logx) {
  std::string s = fmt::format("set terminal svg size 900,500 dynamic background rgb 'white'\n"
                              "set output {}\nset title {}\nset xlabel {}\nset ylabel {}\n"
                              "set key outside right\nset grid\n{}",
                              quoted(svg), quoted(title), quoted(xlabel), quoted(ylabel),
                              logx ? "set logscale x\n" : "unset logscale x\n");
  s += "plot ";
  for (std::size_t i = 0; i < lines.size(); ++i)
    s += fmt::format("{}{} using 1:2 with linespoints title {}", i ? ", " : "",
                     quoted(lines[i].file), quoted(lines[i].title));
  return s + "\n";
}

std::string write_dat(const std::string& path, const std::vector<double>& x,
                      const std::vector<double>& y) {
  std::ofstream f(path);
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    f << x[i] << ' ' << y[i] << '\n';
  return path;
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
                    "tasks in the process", storm, false);
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
                    "microseconds", "fraction of round trips", lat, true);
  // IOPS by depth, one chart per pattern, a line per strategy and mode.
  std::map<std::string, std::map<std::string, std::vector<std::pair<double, double>>>> iops;
  for (const auto& row : r.rows) {
    if (row.scenario != "file-read" || row.skipped || row.variant.empty()) continue;
    std::istringstream v(row.variant);
    std::string pattern, depth, mode;
    v >> pattern >> depth >> mode;
    iops[pattern][row.strategy + " " + mode].emplace_back(row.get_or("depth", 0),
                                                          row.get_or("iops", 0));
  }
  for (auto& [pattern, lines] : iops) {
    std::vector<Line> ls;
    for (auto& [name, pts] : lines) {
      std::vector<double> x, y;
      for (auto& p : pts) {
        x.push_back(p.first);
        y.push_back(p.second);
      }
      std::string safe = name;
      for (char& c : safe)
        if (c == ' ') c = '-';
      ls.push_back(
          {name, write_dat(fmt::format("{}/file-read-{}-{}.dat", dir, pattern, safe), x, y)});
    }
    script += chart(fmt::format("{}/file-read-{}-iops.svg", dir, pattern),
                    fmt::format("file-read {}: IOPS by queue depth", pattern), "queue depth",
                    "IOPS", ls, true);
  }
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
