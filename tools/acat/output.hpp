// stdout, shared by every input: one write at a time and in order, tail's
// `==> name <==` headers when the source changes, or --prefix lines that are
// never split nor mixed.
#pragma once

#include "aio/result.hpp"
#include "aio/sync.hpp"
#include "aio/task.hpp"

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

namespace acat {

// One input as the output sees it.
struct Source {
  std::string name;    // for headers and prefixes ("standard input" for -)
  std::string partial; // --prefix: the start of a line not yet ended
};

class Output {
public:
  // `bulk`: the output is a copy, not a follow, and may grow a pipe for it.
  Output(int fd, bool headers, bool prefix, bool bulk = true);

  // Prints the header of `s` now (tail prints it even for an empty input).
  aio::Task<aio::Result<void>> header(Source& s);
  // Writes `data` read from `s`: after a header if another source wrote
  // last, or as whole prefixed lines. Returns only once it is written.
  aio::Task<aio::Result<void>> emit(Source& s, std::span<const std::byte> data);
  // `s` ended: with --prefix its unterminated last line goes out with a newline.
  aio::Task<aio::Result<void>> end_of(Source& s);

  // Whether emit(s, data) would be one write of `data` as it is, to a pipe,
  // socket or device (no --prefix, no header due, not a regular file), with
  // nobody writing now: the only writer may then write it itself.
  bool plain_for(const Source& s) const noexcept { return as_is_for(s) && !sync_ && !track_; }
  int fd() const noexcept { return fd_; }
  // Whether `s`'s bytes may go to stdout by copy_from(): stdout is a regular
  // file taking them as they are (no --prefix, no header due).
  bool copies_for(const Source& s) const noexcept { return file_ && as_is_for(s); }
  // Up to kCopyChunk bytes of the regular file `fd` from `pos` (advanced)
  // to stdout, copied in the kernel (copy_file_range); 0 at the end. A
  // plain syscall, as a write to a regular file is here (see sync_).
  aio::Result<std::size_t> copy_from(int fd, std::uint64_t& pos, std::uint64_t end);
  // stdout is the regular file with this device and inode.
  bool is_file(std::uint64_t dev, std::uint64_t ino) const noexcept {
    return file_ && dev == dev_ && ino == ino_;
  }
  // The outcome of such a write, as emit() would give it (notes EPIPE).
  aio::Result<void> written(aio::Result<std::size_t> r);

  // True once a write failed with EPIPE (the reader of stdout is gone).
  bool broken() const noexcept { return broken_; }
  void set_broken() noexcept { broken_ = true; }
  // stdout is a pipe or socket: a write may wait for its reader.
  bool waits_for_reader() const noexcept { return pipe_; }
  // When input last arrived, for --idle-timeout: kept only once asked for,
  // as a clock read per write is on the path of every followed line.
  void track_activity() noexcept {
    track_ = true;
    last_input_ = std::chrono::steady_clock::now();
  }
  std::chrono::steady_clock::time_point last_activity() const noexcept { return last_input_; }

  // A line longer than this is cut (with a newline) so memory stays bounded.
  static constexpr std::size_t kMaxLine = 1 << 20;
  // Per copy_from(): ~2 ms of copying here, so a signal is seen soon after.
  static constexpr std::size_t kCopyChunk = std::size_t{8} << 20;

private:
  // `s`'s bytes may go out unchanged and alone: no --prefix, no header due,
  // no other write under way.
  bool as_is_for(const Source& s) const noexcept {
    return !prefix_ && !mu_.locked() && (!headers_ || last_src_ == &s);
  }
  // Input arrived (for --idle-timeout).
  void note_input() noexcept {
    if (track_) last_input_ = std::chrono::steady_clock::now();
  }
  aio::Task<aio::Result<void>> write(std::span<const std::byte> data);
  aio::Result<void> write_sync(std::span<const std::byte> data);
  aio::Task<aio::Result<void>> write_header(Source& s);
  void append_lines(Source& s, std::span<const std::byte> data);

  int fd_;
  bool headers_;
  bool prefix_;
  bool broken_ = false;
  bool sync_ = false;
  bool file_ = false; // a regular file
  std::uint64_t dev_ = 0, ino_ = 0;
  bool pipe_ = false;
  bool first_header_ = true;
  bool track_ = false;
  const Source* last_src_ = nullptr;
  aio::Mutex mu_;
  std::string scratch_;
  std::chrono::steady_clock::time_point last_input_{};
};

} // namespace acat
