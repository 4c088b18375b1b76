// afifo latest: a latest-wins runner. Each record read from IN runs
// COMMAND; a newer record stops the run in progress (SIGTERM, SIGKILL after
// --grace) and runs instead; records in between are skipped.
#pragma once

#include "aio/task.hpp"
#include "tee_framing.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace afifo::tee_latest {

struct LatestOptions {
  std::string input;
  std::vector<std::string> command;
  Framing framing = Framing::Line;
  std::chrono::nanoseconds grace = std::chrono::seconds(1);
  bool exit_on_eof = false;
};

// A record longer than this is skipped with a warning (memory stays
// bounded whatever the input).
inline constexpr std::size_t kMaxLatestRecord = std::size_t{16} << 20;

// Keeps the newest whole record of a stream.
class LatestRecord {
public:
  explicit LatestRecord(Framing f) : framing_(f) {}
  // Bytes read; true if a record ended in them (the newest is then take()n).
  bool feed(std::span<const std::byte> data);
  // The end of the input: a last record without its delimiter counts.
  bool finish();
  bool has() const noexcept { return latest_.has_value(); }
  std::string take() { return *std::exchange(latest_, std::nullopt); }
  std::size_t skipped_long() const noexcept { return skipped_long_; }

private:
  Framing framing_;
  std::string partial_;
  bool skipping_ = false; // in a record longer than kMaxLatestRecord
  std::size_t skipped_long_ = 0;
  std::optional<std::string> latest_;
};

aio::Task<int> run_latest(const LatestOptions& opts);

} // namespace afifo::tee_latest
