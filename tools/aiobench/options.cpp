#include "options.hpp"

#include <algorithm>
#include <sstream>

namespace aiobench {

void apply_quick(Options& o) {
  o.storm_rounds = 200;
  o.latency_rounds = 400;
  o.latency_chunks = 3; // three, so the chunks still give a spread
  o.depths = {1, 8};
  o.modes = {"buffered"};
  o.duration_s = 0.05;
  o.file_size = 16ull << 20;
  o.vis_rounds = 8;
  o.shutdown_wait_s = 0.3;
}

void apply_full(Options& o) { o.depths = {1, 8, 32}; }

std::string pool_job_shape(const std::string& pool_job) {
  return pool_job == "stream"
             ? "a pool job per stream of reads, as one spawn_blocking around a read loop"
             : "a pool job per read (spawn_blocking(pread) per read)";
}

std::vector<std::string> expand_names(const std::vector<std::string>& in,
                                      const std::vector<std::string>& all) {
  std::vector<std::string> out;
  for (const auto& item : in) {
    std::stringstream ss(item);
    std::string name;
    while (std::getline(ss, name, ',')) {
      if (name.empty()) continue;
      if (name == "all") {
        for (const auto& a : all)
          if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
      } else if (std::find(out.begin(), out.end(), name) == out.end()) {
        out.push_back(name);
      }
    }
  }
  return out;
}

std::string validate(const Options& o) {
  for (const auto& s : o.scenarios)
    if (std::find(kScenarios.begin(), kScenarios.end(), s) == kScenarios.end())
      return "unknown scenario '" + s + "'";
  for (const auto& s : o.strategies)
    if (std::find(kStrategies.begin(), kStrategies.end(), s) == kStrategies.end() &&
        std::find(kOptInStrategies.begin(), kOptInStrategies.end(), s) == kOptInStrategies.end())
      return "unknown strategy '" + s + "'";
  for (const auto& p : o.patterns)
    if (p != "rand4k" && p != "seq128k") return "unknown pattern '" + p + "'";
  for (const auto& m : o.modes)
    if (m != "buffered" && m != "direct") return "unknown mode '" + m + "'";
  for (unsigned d : o.depths)
    if (d < 1 || d > 256) return "queue depth must be 1..256";
  if (o.pin != "split" && o.pin != "same" && o.pin != "none")
    return "--pin must be split, same or none";
  if (o.scenarios.empty()) return "no scenario selected";
  if (o.strategies.empty()) return "no strategy selected";
  if (o.duration_s <= 0) return "--duration must be positive";
  if (o.file_size < (1u << 20)) return "--file-size must be at least 1 MiB";
  if (o.pool_cap < 1) return "--pool-cap must be at least 1";
  if (o.storm_rounds < 1 || o.latency_rounds < 1) return "--rounds must be at least 1";
  if (o.vis_rounds < 1) return "--vis-rounds must be at least 1";
  if (o.vis_size < 1) return "--write-size must be positive";
  if (o.latency_chunks < 1) return "--chunks must be at least 1";
  if (o.reps < 1 || o.reps > 1000) return "--reps must be 1..1000";
  if (o.rings > 256) return "--rings must be 0..256";
  if (o.latency_chunks > o.latency_rounds) return "--chunks must not exceed --rounds";
  // A wait of 0 would report every strategy, uring included, as blocked.
  if (!(o.shutdown_wait_s > 0)) return "--shutdown-wait must be positive";
  if (!(o.pool_keepalive_s >= 0)) return "--pool-keepalive must not be negative";
  if (!(o.row_timeout_s > 0)) return "--timeout must be positive";
  if (o.pool_job != "read" && o.pool_job != "stream") return "--pool-job must be read or stream";
  return "";
}

} // namespace aiobench
