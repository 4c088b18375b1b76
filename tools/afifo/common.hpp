// Pieces every afifo subcommand shares: value parsers for the command line
// and the exit code that means "our reader went away".
#pragma once

#include <CLI/CLI.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace afifo {

// A run returns this when its output's reader went away (EPIPE): main ends
// the tool quietly, by SIGPIPE if that was its disposition, as cat does.
inline constexpr int kBrokenPipe = -1;

// "1.5", "250ms", "10us", "2s", "3m", "1h", "1d" (no suffix: seconds). > 0
// only. The one grammar of every afifo DURATION.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s);
// "4096", "64K", "64KiB", "16M", "1G" (powers of 1024), "64KB", "1MB", "1GB"
// (powers of 1000). >= 1 only. The one grammar of every afifo SIZE.
std::optional<std::size_t> parse_size(std::string_view s);
// Octal permission bits, "600", "0644", at most 07777.
std::optional<mode_t> parse_mode(std::string_view s);

// CLI11 validators over the parsers above: "" when valid, else the reason.
std::string check_duration(const std::string& s);
std::string check_size(const std::string& s);
std::string check_mode(const std::string& s);

// The options more than one subcommand takes, set up in one place so each
// says the same words, shows the same metavar and takes the same grammar.
// Each keeps the text as given in `into` (checked while parsing); the
// subcommand's callback parses it into its own options.
// --framing=line|null|raw.
CLI::Option* add_framing_option(CLI::App& sub, std::string& into, const std::string& description);
// A SIZE option, at least `at_least` bytes (said as `at_least_text`).
CLI::Option* add_size_option(CLI::App& sub, const std::string& name, std::string& into,
                             const std::string& description, std::size_t at_least = 1,
                             const std::string& at_least_text = "1");
// A DURATION option.
CLI::Option* add_duration_option(CLI::App& sub, const std::string& name, std::string& into,
                                 const std::string& description);

// Options with an optional value, `--tag[=FORMAT]`: CLI11 has flags that
// take `--flag=value`, and a bare flag gives the default written in braces
// in its name. That default is a sentinel (kBareFlag then the METAVAR), so
// a bare flag is told from any value given, and the help shows
// `--tag[=FORMAT]` (see main.cpp's formatter). A value must be attached with
// '=': `--tag FILE` is the bare flag and an operand.
inline constexpr char kBareFlag = '\x1f';
CLI::Option* add_optional_value(CLI::App& sub, const std::string& name, std::string& into,
                                const std::string& metavar, const std::string& description);
// Whether `value` is what a bare add_optional_value flag gives.
inline bool is_bare(const std::string& value) noexcept {
  return !value.empty() && value.front() == kBareFlag;
}

} // namespace afifo
