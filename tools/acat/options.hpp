// What the command line asked for, and how it is read: getopt_long, as cat
// and tail read theirs (abbreviated long options, the last of a repeated
// option wins, permuted operands, `--`), plus tail's obsolete -NUM / +NUM.
#pragma once

#include "display.hpp"

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
  char delim = '\n'; // -z: lines end with NUL (tail's -z)
  // -s: the period of polling, where acat polls (inotify and the ring wake
  // it elsewhere, where tail too would not sleep).
  std::chrono::nanoseconds sleep_interval = std::chrono::seconds(1);
  // --max-unchanged-stats: accepted and checked as tail does; acat never
  // reopens a name only because its size stayed the same.
  std::uint64_t max_unchanged_stats = 5;
  // cat's display options: plain concatenation only.
  DisplayOptions display;
  // Not from the command line: fd 0 was closed when acat started (main
  // holds it with /dev/null). Reading "-" then fails as tail and cat fail.
  bool stdin_closed = false;
};

// BadValue: a count or PID tail refuses with one line and no "Try ...".
enum class ParseOutcome { Run, Help, Version, UsageError, BadValue };

// Fills `opts` from the command line. On UsageError, `error` is the line to
// print after "acat: " (empty when getopt has printed it already).
ParseOutcome parse(int argc, char** argv, Options& opts, std::string& error);
const char* help_text();

// Why a count was refused: not a count, or too big (tail adds "Value too
// large for defined data type").
enum class CountError { Invalid, Overflow };

// "[+|-]N[suffix]" as tail reads it (see options.cpp for the grammar):
// b 512; k K m M G T P E Z Y powers of 1024, with B or D after them (kB,
// MD) of 1000, with iB (KiB) of 1024. Gives nothing, and why, when the
// text is not a count tail takes.
std::optional<Count> parse_count(std::string_view text, CountError* why = nullptr);

// tail's -s: a floating-point number of seconds as strtod reads it (in the
// C locale too), not negative, not NaN, not out of range. Gives nothing when
// tail would refuse it.
std::optional<std::chrono::nanoseconds> parse_seconds(std::string_view text);

// tail's --max-unchanged-stats: blanks, an optional '+', decimal digits,
// nothing after. Nothing, and why, when tail refuses it.
std::optional<std::uint64_t> parse_unchanged_stats(std::string_view text,
                                                   CountError* why = nullptr);

// "N[.M][ms|s|m|h|d]", seconds by default, as timeout(1) reads it.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

} // namespace acat
