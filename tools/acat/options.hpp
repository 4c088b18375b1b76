// What the command line asked for, and how it is read: getopt_long, as cat
// and tail read theirs (abbreviated long options, the last of a repeated
// option wins, permuted operands, `--`), plus tail's obsolete -NUM / +NUM.
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

enum class ParseOutcome { Run, Help, Version, UsageError };

// Fills `opts` from the command line. On UsageError, `error` is the line to
// print after "acat: " (empty when getopt has printed it already).
ParseOutcome parse(int argc, char** argv, Options& opts, std::string& error);
const char* help_text();

// "[+|-]N[suffix]" with tail's multipliers: b 512; k K m M G T P E Z Y R Q
// powers of 1024, with a B after them (kB, MB) of 1000, with iB (KiB) of
// 1024. Leading blanks are skipped. Gives nothing when the text is not a count.
std::optional<Count> parse_count(std::string_view text);

// "N[.M][ms|s|m|h|d]", seconds by default, as timeout(1) reads it.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

} // namespace acat
