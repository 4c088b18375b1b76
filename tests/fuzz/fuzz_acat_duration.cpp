// libFuzzer target: acat's --idle-timeout durations against timeout(1)'s
// grammar (a C-locale strtod number, not negative, then at most one of
// s m h d), plus acat's documented "ms". acat takes a subset (plain decimal
// digits and a point): whatever it accepts, the reference accepts with the
// same value (to the nanosecond, allowing for rounding), nothing it accepts
// is negative, NaN or infinite, and no input makes it crash or hit UB.
// Built by scripts/fuzz-acat.sh.
#include "options.hpp"

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
  double v = std::strtod(s, &end);
  if (end == s || !(v >= 0) || std::isinf(v)) return std::nullopt;
  double scale = 1;
  if (std::strcmp(end, "") == 0 || std::strcmp(end, "s") == 0)
    scale = 1;
  else if (std::strcmp(end, "ms") == 0) // acat's addition, documented
    scale = 1e-3;
  else if (std::strcmp(end, "m") == 0)
    scale = 60;
  else if (std::strcmp(end, "h") == 0)
    scale = 3600;
  else if (std::strcmp(end, "d") == 0)
    scale = 86400;
  else
    return std::nullopt;
  return v * scale;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string arg(reinterpret_cast<const char*>(data), size);
  if (arg.find('\0') != std::string::npos) return 0;
  auto got = acat::parse_duration(arg);
  if (!got) return 0;
  auto want = reference_seconds(arg);
  if (!want) {
    std::fprintf(stderr, "acat accepts '%s', timeout(1) refuses it\n", arg.c_str());
    std::abort();
  }
  double ns = *want * 1e9;
  double diff = std::fabs(static_cast<double>(got->count()) - ns);
  if (got->count() < 0 || diff > 1 + ns * 1e-12) {
    std::fprintf(stderr, "values differ on '%s': acat %lld ns, reference %.3f ns\n", arg.c_str(),
                 static_cast<long long>(got->count()), ns);
    std::abort();
  }
  return 0;
}
