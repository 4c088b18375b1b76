// The data model every scenario fills and every writer (table, JSON, plot)
// reads: one Row per (scenario, strategy, variant) measurement.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aiobench {

struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

struct Row {
  std::string scenario;
  std::string strategy;
  std::string variant; // e.g. "rand4k qd32 buffered"; empty when the scenario has one
  bool skipped = false;
  std::string note; // why skipped, or what the figures mean for this strategy
  // Ordered so the JSON and table keep a stable order.
  std::vector<std::pair<std::string, double>> figures;
  std::vector<Series> series;
  bool failed = false; // timed out or crashed: shown, never fed to a verdict
  // The strategy cannot run here (io_uring denied: seccomp, sysctl); also
  // skipped. Not a failure: the run goes on with the other strategies.
  bool unavailable = false;

  void set(const std::string& key, double v);
  std::optional<double> get(const std::string& key) const;
  double get_or(const std::string& key, double dflt) const { return get(key).value_or(dflt); }
  Series* find_series(const std::string& name);
};

struct HostFacts {
  std::string kernel;
  std::string liburing;
  unsigned cpus = 0;
  std::string test_dir;
  std::string test_dir_fs;
  std::string aiobench_version;
};

struct Report {
  HostFacts host;
  std::vector<Row> rows;
  std::vector<std::string> verdicts; // the sentences that explain the figures
  double wall_s = 0;
};

} // namespace aiobench
