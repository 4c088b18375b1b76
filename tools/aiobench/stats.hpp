// Percentiles and CDF points of latency samples.
#pragma once

#include <vector>

namespace aiobench {

// `sorted` must be sorted ascending; p in [0, 100]. Nearest-rank; 0 if empty.
double percentile(const std::vector<double>& sorted, double p);
// Up to `points` (x = latency, y = fraction <= x) pairs for a CDF chart.
void cdf(const std::vector<double>& sorted, unsigned points, std::vector<double>& x,
         std::vector<double>& y);
double median(std::vector<double> v);
double mean(const std::vector<double>& v); // 0 if empty

} // namespace aiobench
