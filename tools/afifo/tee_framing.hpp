// Record framing tee and latest share: where records end in a stream
// (--framing=line|null|raw). SIZE and DURATION are common.hpp's, as mux's. A small
// local splitter: mux's framer (framer.*) keeps records across writers and
// may replace it later; here one input stream is all there is.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace afifo::tee_latest {

// line: records end with '\n'; null: with '\0'; raw: every read is a record.
enum class Framing { Line, Null, Raw };

std::optional<Framing> parse_framing(std::string_view text);

inline constexpr std::size_t kNoEnd = static_cast<std::size_t>(-1);

// The offset just past the first record end in data[from, size), or kNoEnd.
// Raw framing: the end of the data (a read is a record).
std::size_t next_record_end(std::span<const std::byte> data, std::size_t from, Framing f);
// The offset just past the last record end in `data`, or kNoEnd.
std::size_t last_record_end(std::span<const std::byte> data, Framing f);
// How many records end in `data`.
std::size_t count_record_ends(std::span<const std::byte> data, Framing f);

} // namespace afifo::tee_latest
