// Cuts a byte stream into records (lines, NUL-ended records, or raw chunks)
// for afifo mux. One Framer per input: it keeps the start of a record that a
// read cut short until the rest arrives, so a record written in several
// write() calls, or longer than a pipe's buffer, still comes out whole.
// Memory is bounded: a record longer than max_record is handed out in pieces
// of at most max_record bytes instead of growing without limit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace afifo {

enum class Framing { line, null, raw };

// Parses "line", "null" or "raw"; false otherwise.
bool parse_framing(std::string_view s, Framing& out) noexcept;

// A stretch of output from one input. `first`: it starts a record (a tag
// goes before it). `last`: it ends a record (it ends with the terminator,
// except for raw chunks, which have none). A record that fits in
// max_record is one piece with both set.
struct Piece {
  std::span<const std::byte> bytes;
  bool first;
  bool last;
};

class Framer {
public:
  // max_record >= 1: the largest piece handed out, terminator included.
  Framer(Framing framing, std::size_t max_record);

  // Hands every record (or piece of an over-long one) that `data` completes
  // to emit(Piece), in order; keeps what is left for the next call. The
  // spans are valid only during the emit call.
  template <class Emit> void feed(std::span<const std::byte> data, Emit&& emit);

  // Bytes of a record begun and not yet ended (kept across reads).
  std::span<const std::byte> partial() const noexcept { return buf_; }
  // A record is under way: bytes kept, or pieces of it already handed out.
  bool in_record() const noexcept { return !buf_.empty() || continuing_; }
  // Whether the record under way already had pieces handed out (so what
  // comes next does not start a record).
  bool continuing() const noexcept { return continuing_; }
  // Forgets the record under way (after its end was delivered otherwise).
  void reset() noexcept {
    buf_.clear();
    continuing_ = false;
  }
  // Records cut into pieces so far.
  std::size_t oversized() const noexcept { return oversized_; }
  std::byte terminator() const noexcept { return term_; }
  Framing framing() const noexcept { return framing_; }

private:
  Framing framing_;
  std::byte term_;
  std::size_t max_;
  std::vector<std::byte> buf_;
  bool continuing_ = false;
  std::size_t oversized_ = 0;
};

template <class Emit> void Framer::feed(std::span<const std::byte> data, Emit&& emit) {
  if (framing_ == Framing::raw) {
    // No record promise: chunks as read, each at most max_ bytes.
    for (std::size_t pos = 0; pos < data.size(); pos += max_)
      emit(Piece{data.subspan(pos, std::min(max_, data.size() - pos)), true, true});
    return;
  }
  std::size_t pos = 0;
  while (pos < data.size()) {
    // Look no further than what still fits in a piece.
    const std::size_t room = max_ - buf_.size();
    const std::size_t span = std::min(room, data.size() - pos);
    const void* hit = std::memchr(data.data() + pos, static_cast<int>(term_), span);
    if (hit != nullptr) {
      const std::size_t end =
          static_cast<std::size_t>(static_cast<const std::byte*>(hit) - data.data()) + 1;
      const bool first = !continuing_;
      if (buf_.empty()) {
        // The usual case: a whole record inside this read, handed out in place.
        emit(Piece{data.subspan(pos, end - pos), first, true});
      } else {
        buf_.insert(buf_.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                    data.begin() + static_cast<std::ptrdiff_t>(end));
        emit(Piece{std::span<const std::byte>(buf_), first, true});
        buf_.clear();
      }
      continuing_ = false;
      pos = end;
      continue;
    }
    if (span == room && buf_.empty()) {
      // A whole piece of an over-long record inside this read.
      emit(Piece{data.subspan(pos, span), !continuing_, false});
    } else {
      buf_.insert(buf_.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                  data.begin() + static_cast<std::ptrdiff_t>(pos + span));
      if (buf_.size() < max_) return; // all of data is kept
      emit(Piece{std::span<const std::byte>(buf_), !continuing_, false});
      buf_.clear();
    }
    if (!continuing_) ++oversized_;
    continuing_ = true;
    pos += span;
  }
}

} // namespace afifo
