// Pieces every afifo subcommand shares: value parsers for the command line
// and the exit code that means "our reader went away".
#pragma once

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

// "1.5", "250ms", "2s", "3m", "1h", "1d" (no suffix: seconds). > 0 only.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s);
// "4096", "64K", "64KiB", "16M", "1G" (binary multiples). >= 1 only.
std::optional<std::size_t> parse_size(std::string_view s);
// Octal permission bits, "600", "0644", at most 07777.
std::optional<mode_t> parse_mode(std::string_view s);

// CLI11 validators over the parsers above: "" when valid, else the reason.
std::string check_duration(const std::string& s);
std::string check_size(const std::string& s);
std::string check_mode(const std::string& s);

// The sentinel an option with an optional value (--tag[=FORMAT]) holds when
// given bare; see setup_mux.
inline constexpr std::string_view kBareFlag = "\x1f";

} // namespace afifo
