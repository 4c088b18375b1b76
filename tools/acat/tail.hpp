// The first pass over each input: all of it (cat), or the part tail would
// show. Seekable files are read from the end; streams are held in bounded
// memory (the last N lines or bytes, never more).
#pragma once

#include "input.hpp"
#include "options.hpp"

#include "aio/result.hpp"
#include "aio/task.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace acat {

// Walks a file backwards, block by block, to where its last `n` lines start.
// tail's rule: the final newline ends the last line, it does not start one.
class BackScanner {
public:
  BackScanner(std::uint64_t n, std::uint64_t size, char delim = '\n')
      : n_(n), size_(size), delim_(static_cast<std::byte>(delim)) {}
  // `block` holds the bytes at [base, base + block.size()), fed from the end
  // towards the start. Gives the start offset once it is found.
  std::optional<std::uint64_t> feed(std::span<const std::byte> block, std::uint64_t base);

private:
  std::uint64_t n_;
  std::uint64_t size_;
  std::byte delim_;
  std::uint64_t seen_ = 0;
};

// Drops what precedes line or byte N (1-based) of a stream: `+N`.
class Skipper {
public:
  Skipper(Mode mode, std::uint64_t n, char delim = '\n')
      : lines_(mode == Mode::Lines), delim_(delim), left_(n > 0 ? n - 1 : 0) {}
  // The part of `data` to print.
  std::span<const std::byte> feed(std::span<const std::byte> data);
  bool skipping() const noexcept { return left_ > 0; }

private:
  bool lines_;
  char delim_;
  std::uint64_t left_;
};

// Keeps the last N lines or bytes of a stream of unknown length in a queue
// of fixed-size chunks, dropping a chunk as soon as the chunks after it hold
// the whole answer: at most the last N+1 lines (or N bytes) plus one chunk,
// and nothing copied again at the end (the answer is printed from the
// chunks). `-n 1000` of a 60 MiB pipe with fewer lines peaked at 167 MB
// when the chunks were joined into one string and then cut (tail: 63 MB).
class Keeper {
public:
  static constexpr std::size_t kChunk = std::size_t{64} * 1024;
  Keeper(Mode mode, std::uint64_t n, std::size_t chunk = kChunk, char delim = '\n')
      : lines_(mode == Mode::Lines), delim_(delim), n_(n), chunk_(chunk) {}
  void feed(std::span<const std::byte> data);
  // At the end: the bytes to print, in order (views of the chunks, valid
  // until the next feed).
  std::vector<std::span<const std::byte>> last() const;
  // The same, joined (for tests).
  std::string take() const;
  // Bytes held, and bytes allocated for them.
  std::size_t held() const noexcept { return held_; }
  std::size_t allocated() const noexcept { return chunks_.size() * chunk_; }

private:
  struct Chunk {
    std::unique_ptr<std::byte[]> bytes;
    std::size_t size = 0;
    std::uint64_t newlines = 0; // line delimiters (NUL with -z)
  };
  void trim();
  bool lines_;
  char delim_;
  std::uint64_t n_;
  std::size_t chunk_;
  std::deque<Chunk> chunks_;
  std::uint64_t newlines_ = 0;
  std::size_t held_ = 0;
};

// Prints the first pass of an open input (its header is already out).
// Read errors are reported and leave `in` done; write errors are returned.
aio::Task<aio::Result<void>> first_pass(Context& ctx, Input& in);

// Copies `in` from its position to its end through `out`, reading ahead while
// the previous chunk is written. Read errors are reported; write errors returned.
aio::Task<aio::Result<void>> copy_to_end(Context& ctx, Input& in,
                                         std::optional<Skipper>* skip = nullptr);

} // namespace acat
