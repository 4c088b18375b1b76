#include "repetitions.hpp"

#include "stats.hpp"

#include <algorithm>
#include <cmath>

namespace aiobench {

const std::vector<std::string>& read_spread_keys() {
  static const std::vector<std::string> keys = {"iops",    "mb_s",     "p50_us", "p99_us",
                                                "mean_us", "p99.9_us", "max_us", "cpu_us_per_op"};
  return keys;
}

namespace {
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
} // namespace

Row merge_repetitions(const std::vector<Row>& reps, const std::vector<std::string>& spread_keys) {
  Row out;
  if (reps.empty()) return out;
  out.scenario = reps.front().scenario;
  out.strategy = reps.front().strategy;
  out.variant = reps.front().variant;
  out.skipped = reps.front().skipped;
  out.note = reps.front().note;
  // io_uring denied during any repetition: the point is not measured.
  for (const Row& r : reps)
    if (r.unavailable) return r;
  if (out.skipped) {
    out.figures = reps.front().figures;
    return out;
  }
  for (const Row& r : reps)
    if (r.failed) {
      out.failed = true;
      out.note = r.note;
      out.figures = r.figures;
      return out;
    }
  // Every key any repetition reported, in first-seen order.
  std::vector<std::string> keys;
  for (const Row& r : reps)
    for (const auto& kv : r.figures)
      if (std::find(keys.begin(), keys.end(), kv.first) == keys.end()) keys.push_back(kv.first);
  for (const auto& k : keys) {
    std::vector<double> v;
    for (const Row& r : reps)
      if (auto x = r.get(k)) v.push_back(*x);
    if (v.empty()) continue;
    bool spread = std::find(spread_keys.begin(), spread_keys.end(), k) != spread_keys.end();
    if (ends_with(k, "_peak") || ends_with(k, "_spawned"))
      out.set(k, *std::max_element(v.begin(), v.end()));
    else if (k == "ops" || k == "errors" || k == "pool_jobs")
      out.set(k, [&] {
        double s = 0;
        for (double x : v)
          s += x;
        return s;
      }());
    else
      out.set(k, median(v));
    if (spread) {
      out.set(k + "_min", *std::min_element(v.begin(), v.end()));
      out.set(k + "_max", *std::max_element(v.begin(), v.end()));
    }
  }
  out.set("reps", static_cast<double>(reps.size()));
  // The CDF of the repetition whose IOPS is the median: one real
  // distribution rather than a blend.
  std::vector<std::pair<double, std::size_t>> by_iops;
  for (std::size_t i = 0; i < reps.size(); ++i)
    by_iops.emplace_back(reps[i].get_or("iops", 0), i);
  std::sort(by_iops.begin(), by_iops.end());
  const Row& mid = reps[by_iops[(by_iops.size() - 1) / 2].second];
  out.series = mid.series;
  return out;
}

bool spreads_apart(const Row& a, const Row& b, const std::string& key) {
  auto alo = a.get(key + "_min"), ahi = a.get(key + "_max");
  auto blo = b.get(key + "_min"), bhi = b.get(key + "_max");
  if (!alo || !ahi || !blo || !bhi) return false;
  return *ahi < *blo || *bhi < *alo;
}

double median_ratio(const Row& a, const Row& b, const std::string& key) {
  double d = b.get_or(key, 0);
  return d > 0 ? a.get_or(key, 0) / d : std::nan("");
}

} // namespace aiobench
