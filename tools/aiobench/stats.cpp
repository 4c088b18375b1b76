#include "stats.hpp"

#include <algorithm>
#include <cmath>

namespace aiobench {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // The epsilon keeps 99.9% of 1000 at rank 999 despite binary fractions.
  double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9);
  std::size_t i = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

void cdf(const std::vector<double>& sorted, unsigned points, std::vector<double>& x,
         std::vector<double>& y) {
  x.clear();
  y.clear();
  if (sorted.empty() || points < 2) return;
  for (unsigned i = 0; i < points; ++i) {
    // Denser towards the tail, where the strategies differ.
    double q = 1.0 - std::pow(10.0, -4.0 * i / (points - 1));
    double p = std::min(100.0, q * 100.0);
    x.push_back(percentile(sorted, p));
    y.push_back(q);
  }
  x.push_back(sorted.back());
  y.push_back(1.0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return percentile(v, 50);
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v)
    s += x;
  return s / static_cast<double>(v.size());
}

} // namespace aiobench
