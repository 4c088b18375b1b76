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
#include <optional>
#include <span>
#include <string>

namespace acat {

// Walks a file backwards, block by block, to where its last `n` lines start.
// tail's rule: the final newline ends the last line, it does not start one.
class BackScanner {
public:
  BackScanner(std::uint64_t n, std::uint64_t size) : n_(n), size_(size) {}
  // `block` holds the bytes at [base, base + block.size()), fed from the end
  // towards the start. Gives the start offset once it is found.
  std::optional<std::uint64_t> feed(std::span<const std::byte> block, std::uint64_t base);

private:
  std::uint64_t n_;
  std::uint64_t size_;
  std::uint64_t seen_ = 0;
};

// Drops what precedes line or byte N (1-based) of a stream: `+N`.
class Skipper {
public:
  Skipper(Mode mode, std::uint64_t n) : lines_(mode == Mode::Lines), left_(n > 0 ? n - 1 : 0) {}
  // The part of `data` to print.
  std::span<const std::byte> feed(std::span<const std::byte> data);
  bool skipping() const noexcept { return left_ > 0; }

private:
  bool lines_;
  std::uint64_t left_;
};

// Keeps the last N lines or bytes of a stream of unknown length, holding at
// most N+1 lines (or N bytes) plus one chunk.
class Keeper {
public:
  Keeper(Mode mode, std::uint64_t n) : lines_(mode == Mode::Lines), n_(n) {}
  void feed(std::span<const std::byte> data);
  // At the end: the bytes to print.
  std::string take();
  std::size_t held() const noexcept { return held_; }

private:
  struct Chunk {
    std::string bytes;
    std::uint64_t newlines;
  };
  bool lines_;
  std::uint64_t n_;
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
