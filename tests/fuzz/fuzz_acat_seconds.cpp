// libFuzzer target: acat's -s/--sleep-interval and --max-unchanged-stats
// against tail's own reading of them. -s: gnulib's xstrtod over a C-locale
// strtod (the whole text used, underflow to 0 allowed, any other ERANGE
// refused), then tail's `0 <= s`. --max-unchanged-stats: strtoumax's
// syntax (blanks, '+', digits, nothing after; no '-'). Whatever one
// accepts the other accepts with the same value, and no input makes acat
// crash or hit UB. The first byte picks the parser. Built by
// scripts/fuzz-acat.sh.
#include "options.hpp"

#include <cerrno>
#include <cinttypes>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace {

std::optional<double> reference_seconds(const std::string& arg) {
  const char* s = arg.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end); // the fuzzer runs in the C locale
  if (end == s || *end != '\0') return std::nullopt;
  if (errno == ERANGE && v != 0) return std::nullopt;
  if (!(0 <= v)) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> reference_stats(const std::string& arg) {
  if (arg.find('-') != std::string::npos) return std::nullopt;
  const char* s = arg.c_str();
  char* end = nullptr;
  errno = 0;
  std::uintmax_t v = std::strtoumax(s, &end, 10);
  if (end == s || *end != '\0' || errno == ERANGE) return std::nullopt;
  return static_cast<std::uint64_t>(v);
}

[[noreturn]] void disagree(const char* what, const std::string& arg) {
  std::fprintf(stderr, "%s: '%s'\n", what, arg.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string arg(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (arg.find('\0') != std::string::npos) return 0;
  if ((data[0] & 1) == 0) {
    auto got = acat::parse_seconds(arg);
    auto want = reference_seconds(arg);
    if (got.has_value() != want.has_value())
      disagree(got ? "acat accepts, tail refuses" : "tail accepts, acat refuses", arg);
    if (!got) return 0;
    if (got->count() < 0) disagree("negative interval", arg);
    // Up to the clamp (~285 years), the same value to within rounding.
    const double want_ns = *want * 1e9;
    if (want_ns < 9e18 &&
        std::fabs(static_cast<double>(got->count()) - want_ns) > 1 + want_ns * 1e-15)
      disagree("different value", arg);
  } else {
    auto got = acat::parse_unchanged_stats(arg);
    auto want = reference_stats(arg);
    if (got.has_value() != want.has_value())
      disagree(got ? "acat accepts, tail refuses" : "tail accepts, acat refuses", arg);
    if (got && *got != *want) disagree("different value", arg);
  }
  return 0;
}
