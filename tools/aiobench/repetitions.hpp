// Repetitions of one measured point, and what may be concluded from them.
// A point is measured several times, interleaved with the other strategies
// (rotating order), because on a shared VM one sample can be off by 2-3x.
// The row then carries, for each figure named in `spread_keys`, the median
// (under the plain key) and the smallest and largest sample (key_min,
// key_max). Two rows are only compared in words when those ranges do not
// overlap: the same rule in both directions, no extra threshold.
#pragma once

#include "figures.hpp"

#include <string>
#include <vector>

namespace aiobench {

// The figures of a file-read point that get a median and a spread.
const std::vector<std::string>& read_spread_keys();

// Folds the repetitions of one point into one row: spread keys get
// median/min/max; *_peak figures the maximum; ops, errors the sum; every
// other figure the median. A failed repetition fails the row (its reason
// kept); the latency CDF of the repetition with the median IOPS is kept.
Row merge_repetitions(const std::vector<Row>& reps, const std::vector<std::string>& spread_keys);

// Whether the [min, max] ranges of `key` in the two rows do not overlap.
// False when either row lacks the spread.
bool spreads_apart(const Row& a, const Row& b, const std::string& key);

// The ratio of the medians a/b (NaN when b is 0).
double median_ratio(const Row& a, const Row& b, const std::string& key);

} // namespace aiobench
