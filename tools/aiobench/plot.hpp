// SVG charts drawn by gnuplot, when it is installed.
#pragma once

#include "figures.hpp"

#include <string>

namespace aiobench {

// The gnuplot program found in PATH, or "".
std::string find_gnuplot();
// Writes data files, a script and the SVGs into `dir` (made if missing).
// Gives an error sentence or "".
std::string write_plots(const Report& r, const std::string& dir, const std::string& gnuplot);

} // namespace aiobench
