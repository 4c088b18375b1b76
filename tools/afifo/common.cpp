#include "common.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace afifo {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s) {
  // The number: digits with at most one '.', parsed by strtod from a copy
  // (from_chars for double is missing in older libstdc++).
  std::size_t i = 0;
  bool dot = false;
  bool digit = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9')
      digit = true;
    else if (s[i] == '.' && !dot)
      dot = true;
    else
      break;
  }
  if (!digit) return std::nullopt;
  const double v = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
  const std::string_view unit = s.substr(i);
  double scale = 1e9;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else if (unit == "d")
    scale = 86400e9;
  else
    return std::nullopt;
  const double ns = v * scale;
  if (!(ns >= 1.0) || ns > 9e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
}

std::optional<std::size_t> parse_size(std::string_view s) {
  std::size_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  std::string_view unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
  std::size_t scale = 1;
  if (!unit.empty() && unit != "B") {
    const char u = unit[0];
    const int power = u == 'K' || u == 'k' ? 1 : u == 'M' ? 2 : u == 'G' ? 3 : 0;
    if (power == 0) return std::nullopt;
    const std::string_view rest = unit.substr(1);
    std::size_t base = 1024;
    if (rest == "B")
      base = 1000;
    else if (!rest.empty() && rest != "iB")
      return std::nullopt;
    for (int i = 0; i < power; ++i)
      scale *= base;
  }
  if (v == 0 || v > static_cast<std::size_t>(-1) / scale) return std::nullopt;
  return v * scale;
}

std::optional<mode_t> parse_mode(std::string_view s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 8);
  if (ec != std::errc() || end != s.data() + s.size() || v > 07777) return std::nullopt;
  return static_cast<mode_t>(v);
}

std::string check_duration(const std::string& s) {
  return parse_duration(s) ? "" : "invalid duration '" + s + "' (e.g. 500ms, 2s, 1.5m, 1h)";
}
std::string check_size(const std::string& s) {
  return parse_size(s) ? "" : "invalid size '" + s + "' (e.g. 4096, 64K, 16M, 1G, 1MB)";
}
std::string check_mode(const std::string& s) {
  if (is_bare(s)) return "";
  return parse_mode(s) ? "" : "invalid mode '" + s + "' (octal, e.g. 600)";
}

CLI::Option* add_framing_option(CLI::App& sub, std::string& into, const std::string& description) {
  return sub.add_option("--framing", into, description)
      ->check(CLI::IsMember({"line", "null", "raw"}))
      ->option_text("line|null|raw");
}

CLI::Option* add_size_option(CLI::App& sub, const std::string& name, std::string& into,
                             const std::string& description, std::size_t at_least,
                             const std::string& at_least_text) {
  return sub.add_option(name, into, description)
      ->check(CLI::Validator(
          [at_least, at_least_text](std::string& v) -> std::string {
            const auto s = parse_size(v);
            if (!s) return check_size(v);
            if (*s < at_least) return "must be at least " + at_least_text;
            return {};
          },
          ""))
      ->option_text("SIZE");
}

CLI::Option* add_duration_option(CLI::App& sub, const std::string& name, std::string& into,
                                 const std::string& description) {
  return sub.add_option(name, into, description)
      ->check(CLI::Validator(check_duration, ""))
      ->option_text("DURATION");
}

CLI::Option* add_optional_value(CLI::App& sub, const std::string& name, std::string& into,
                                const std::string& metavar, const std::string& description) {
  return sub.add_flag(name + "{" + kBareFlag + metavar + "}", into, description);
}

} // namespace afifo
