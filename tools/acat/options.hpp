// What the command line asked for, and the parsers of its values (kept apart
// from CLI11 so they can be unit tested).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace acat {

enum class Mode { Cat, Lines, Bytes };
enum class Follow { None, Descriptor, Name };

// tail's NUM: the last N, or from the Nth on (1-based) with a leading '+'.
struct Count {
  bool from_start = false;
  std::uint64_t n = 0;
};

struct Options {
  std::vector<std::string> files; // "-" is stdin; empty means stdin
  Mode mode = Mode::Cat;
  Count count;
  Follow follow = Follow::None;
  bool retry = false;
  bool prefix = false;
  bool quiet = false;   // never print headers
  bool verbose = false; // always print headers
  std::optional<pid_t> pid;
  std::optional<std::chrono::nanoseconds> idle_timeout;
};

// "[+|-]N[suffix]" with tail's multipliers (b, kB, K, KiB, MB, M, ...).
// Gives nothing when the text is not a count.
std::optional<Count> parse_count(std::string_view text);

// "N[.M][ms|s|m|h|d]", seconds by default, as timeout(1) reads it.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

} // namespace acat
