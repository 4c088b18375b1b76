#include "options.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace acat {

std::optional<Count> parse_count(std::string_view text) {
  Count c;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    c.from_start = text.front() == '+';
    text.remove_prefix(1);
  }
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range) {
    // tail treats a huge count as "everything", which UINT64_MAX is.
    n = std::numeric_limits<std::uint64_t>::max();
    while (end != text.data() + text.size() && *end >= '0' && *end <= '9')
      ++end;
  } else if (ec != std::errc{}) {
    return std::nullopt;
  }
  std::string_view suffix(end, text.data() + text.size() - end);
  struct Mult {
    std::string_view name;
    std::uint64_t base;
    int power;
  };
  static constexpr Mult kMults[] = {
      {"", 1, 1},       {"b", 512, 1},    {"kB", 1000, 1},  {"K", 1024, 1},   {"KiB", 1024, 1},
      {"MB", 1000, 2},  {"M", 1024, 2},   {"MiB", 1024, 2}, {"GB", 1000, 3},  {"G", 1024, 3},
      {"GiB", 1024, 3}, {"TB", 1000, 4},  {"T", 1024, 4},   {"TiB", 1024, 4}, {"PB", 1000, 5},
      {"P", 1024, 5},   {"PiB", 1024, 5}, {"EB", 1000, 6},  {"E", 1024, 6},   {"EiB", 1024, 6},
  };
  for (const auto& m : kMults) {
    if (suffix != m.name) continue;
    std::uint64_t mult = 1;
    for (int i = 0; i < m.power; ++i)
      mult *= m.base;
    if (n != 0 && mult > std::numeric_limits<std::uint64_t>::max() / n)
      n = std::numeric_limits<std::uint64_t>::max();
    else
      n *= mult;
    c.n = n;
    return c;
  }
  return std::nullopt;
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  std::string number(text.substr(0, i));
  std::string_view unit = text.substr(i);
  if (number.empty() || number == ".") return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (ec != std::errc{} || end != number.data() + number.size()) return std::nullopt;
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else if (unit == "d")
    scale = 86400e9;
  else
    return std::nullopt;
  double ns = v * scale;
  if (!std::isfinite(ns) || ns > 1e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

} // namespace acat
