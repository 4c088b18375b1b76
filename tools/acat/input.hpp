// One operand: how it was opened, what kind of file it is, where we are in
// it, and how to read the next bytes without blocking the thread.
#pragma once

#include "options.hpp"
#include "output.hpp"

#include "aio/fifo.hpp"
#include "aio/result.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>

namespace acat {

enum class Kind {
  Regular, // read at explicit offsets; can seek from the end; followed with inotify
  Fifo,    // a named pipe: FifoReader (no false EOF, survives writers with follow)
  Pipe,    // an inherited pipe or socket on stdin: polled, ends at EOF
  Other,   // character devices, directories, ...: plain reads
};

struct Input {
  std::string path; // the operand; "-" is stdin
  Source src;
  Kind kind = Kind::Other;
  aio::UniqueFd fd;
  std::optional<aio::FifoReader> fifo;
  std::uint64_t pos = 0; // next offset to read (Regular)
  // Where the first pass of a tail stops (Regular): the size seen as it
  // began, as tail does, so a file appended meanwhile (or `acat -n 1 f >>
  // f`) is printed once and not chased to a moving end.
  static constexpr std::uint64_t kNoEnd = ~std::uint64_t{0};
  std::uint64_t end = kNoEnd;
  std::uint64_t dev = 0, ino = 0;
  int wd = -1;       // inotify watch of the open inode
  bool done = false; // no longer read or followed
  // Under -F: the name is there but is no file to follow (a directory):
  // waited for until it becomes one ("has become accessible").
  bool untailable = false;
  // Under -F: the name became such a file while followed (said once).
  bool replaced_untailable = false;
  // Why it last failed to open (--retry): a name that could not be read
  // "has become accessible", one that was missing "has appeared".
  std::error_code open_error;

  bool is_stdin() const noexcept { return path == "-"; }
  bool is_open() const noexcept { return fd.valid() || fifo.has_value(); }
  int raw_fd() const noexcept { return fifo ? fifo->fd() : fd.get(); }
};

// Page-aligned I/O buffers: the kernel's copy into a buffer that does not
// start on a page was measured four times slower on this machine.
struct FreeDeleter {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};
using Buffer = std::unique_ptr<std::byte[], FreeDeleter>;
inline Buffer make_buffer(std::size_t n) {
  return Buffer(static_cast<std::byte*>(std::aligned_alloc(4096, (n + 4095) / 4096 * 4096)));
}

// What the whole run shares: options, stdout, and whether an error was told.
struct Context {
  const Options& opts;
  Output& out;
  bool had_error = false;
  std::array<Buffer, 2> bulk_buffers;
  // cat's display options, when asked for (one state for all inputs).
  Display* display = nullptr;
  // "-" was an operand while fd 0 was closed (Options::stdin_closed).
  bool read_closed_stdin = false;

  // The copy buffers of the first pass, made once and reused for every
  // input (cat of many small files must not map and fault in 1 MiB each).
  // 1 MiB: 128 KiB to 4 MiB were tried; to /dev/null 1 MiB was the fastest
  // (fewer trips through the ring), to a pipe all were alike.
  static constexpr std::size_t kBulk = 1 << 20;
  std::span<std::byte> bulk(std::size_t i) {
    if (!bulk_buffers[i]) bulk_buffers[i] = make_buffer(kBulk);
    return {bulk_buffers[i].get(), kBulk};
  }

  // `acat: WHAT: strerror`, and the exit status becomes 1. WHAT is
  // printed as it is: quote any name in it.
  void report(const std::string& what, std::error_code ec);
  // tail's `cannot open 'NAME' for reading: E`, cat's `NAME: E` (names
  // quoted as each quotes them), and the exit status becomes 1.
  void report_open(const Input& in, std::error_code ec);
  // tail's `error reading 'NAME': E`, cat's `NAME: E`.
  void report_read(const Input& in, std::error_code ec);
  // The name as tail (quoteaf) or cat (quotef) puts it in a message.
  std::string quoted(const Input& in) const;
  // tail's messages, not cat's: a count or a follow was asked for.
  bool tail_style() const noexcept { return opts.mode != Mode::Cat || opts.follow != Follow::None; }
  // Any other line on stderr, prefixed with `acat: `.
  void note(const std::string& text) const;
};

// Metadata without the ring: io_uring hands every STATX to an io-wq worker,
// while fstat of an open fd, or stat of a name already in the dentry cache,
// does not wait for a device.
aio::Result<struct stat> stat_fd(int fd);
aio::Result<struct stat> stat_path(const std::string& path);

// Opens `in.path` (stdin for "-") and fills in its kind, device and inode.
// FIFOs are opened O_NONBLOCK so neither the open nor a read ever parks the
// thread; `fifo_follow` makes the FIFO's reader wait for the next writer.
aio::Task<aio::Result<void>> open_input(Input& in, bool fifo_follow);

// The next bytes of `in`; 0 at its end.
aio::Task<aio::Result<std::size_t>> read_some(Input& in, std::span<std::byte> buf);

} // namespace acat
