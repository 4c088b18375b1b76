// libFuzzer target: acat's tail counts (-n, -c) against a reference of
// coreutils 9.1 tail's grammar built on libc's strtoumax, as tail's xstrtol
// is: whatever acat accepts, tail accepts with the same value and sense
// (from the start or from the end), and what tail refuses acat refuses, for
// the same reason (not a count, or too big). Built by scripts/fuzz-acat.sh.
#include "options.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace {

struct Ref {
  bool ok = false;
  bool overflow = false;
  bool from_start = false;
  std::uint64_t n = 0;
};

// Multiplier of a whole suffix, as a table of every suffix tail 9.1 takes
// ("" and b; each of k K m M G T P E Z Y alone, with iB, with B, with D).
bool suffix_scale(const char* s, unsigned __int128& mult) {
  if (*s == '\0') {
    mult = 1;
    return true;
  }
  if (std::strcmp(s, "b") == 0) {
    mult = 512;
    return true;
  }
  static const char kLetters[] = "kKmMGTPEZY";
  static const int kPower[] = {1, 1, 2, 2, 3, 4, 5, 6, 7, 8};
  const char* at = std::strchr(kLetters, *s);
  if (at == nullptr) return false;
  int power = kPower[at - kLetters];
  unsigned base;
  if (std::strcmp(s + 1, "") == 0 || std::strcmp(s + 1, "iB") == 0)
    base = 1024;
  else if (std::strcmp(s + 1, "B") == 0 || std::strcmp(s + 1, "D") == 0)
    base = 1000;
  else
    return false;
  mult = 1;
  for (int i = 0; i < power; ++i)
    mult *= base; // at most 1024^8 = 2^80: fits in 128 bits
  return true;
}

Ref reference(const std::string& arg) {
  Ref r;
  const char* s = arg.c_str();
  if (*s == '+') r.from_start = true;
  if (*s == '-') ++s; // tail drops a leading '-' and keeps a '+'
  const char* p = s;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\v' || *p == '\f' || *p == '\r')
    ++p;
  if (*p == '-') return r; // xstrtoumax refuses negatives
  errno = 0;
  char* end = nullptr;
  std::uintmax_t v = std::strtoumax(s, &end, 10);
  bool too_big = errno == ERANGE;
  if (end == s) {
    // No number: a valid suffix right at the start stands for 1 of it.
    if (*s == '\0' || std::strchr("bkKmMGTPEZY", *s) == nullptr) return r;
    v = 1;
  }
  unsigned __int128 mult = 0;
  if (!suffix_scale(end, mult)) return r;
  unsigned __int128 total = static_cast<unsigned __int128>(v) * mult;
  if (too_big || total > UINT64_MAX) {
    r.overflow = true;
    return r;
  }
  r.ok = true;
  r.n = static_cast<std::uint64_t>(total);
  return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string arg(reinterpret_cast<const char*>(data), size);
  // A command-line argument cannot hold a NUL byte.
  if (arg.find('\0') != std::string::npos) return 0;
  acat::CountError why{};
  auto got = acat::parse_count(arg, &why);
  Ref want = reference(arg);
  if (got.has_value() != want.ok) {
    std::fprintf(stderr, "accepts differ on '%s': acat %d, tail %d\n", arg.c_str(), got.has_value(),
                 want.ok);
    std::abort();
  }
  if (got) {
    if (got->n != want.n || got->from_start != want.from_start) {
      std::fprintf(stderr, "values differ on '%s': acat %" PRIu64 "%s, tail %" PRIu64 "%s\n",
                   arg.c_str(), got->n, got->from_start ? " (+)" : "", want.n,
                   want.from_start ? " (+)" : "");
      std::abort();
    }
  } else if ((why == acat::CountError::Overflow) != want.overflow) {
    std::fprintf(stderr, "reasons differ on '%s': acat overflow %d, tail %d\n", arg.c_str(),
                 why == acat::CountError::Overflow, want.overflow);
    std::abort();
  }
  return 0;
}
