// Reading FIFOs without blocking the thread and without false EOFs.
//
// Kernel facts this relies on (measured on 6.18): OPENAT of a FIFO through
// the ring never waits for a peer; a read on an O_NONBLOCK FIFO fd is polled
// by the kernel (no io-wq worker) while a writer is connected; a read with no
// writer ever connected returns 0 at once (the false EOF); a blocking fd's
// EOF read is handed to an io-wq worker. Hence: O_NONBLOCK always, and a
// poll through the ring before the first read.
#pragma once

#include "aio/ops.hpp"
#include "aio/result.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace aio {

// Reads once; an EAGAIN (older kernels, or a racing reader) waits for POLLIN
// through the ring and tries again.
Task<Result<std::size_t>> read_ready(int fd, std::span<std::byte> buf);

class FifoReader {
public:
  // Opens `path` for reading at once, whether or not a writer exists.
  // With `follow`, read() never reports EOF: when the last writer leaves it
  // waits for the next one (a reopen, so the poll is not stuck on POLLHUP).
  static Task<Result<FifoReader>> open(std::string path, bool follow);
  // Wraps an fd already open on a FIFO or pipe (made O_NONBLOCK here).
  static Result<FifoReader> adopt(UniqueFd fd, std::string path, bool follow);

  // Moving is safe even while a read is pending (a growing vector of
  // readers): the read works on the state, which stays where it is. A
  // moved-from reader may only be destroyed or assigned to.
  FifoReader(FifoReader&&) noexcept = default;
  FifoReader& operator=(FifoReader&&) noexcept = default;

  // Waits for data or a writer; 0 means every writer left (not with follow).
  Task<Result<std::size_t>> read(std::span<std::byte> buf) { return read_on(*s_, buf); }
  int fd() const noexcept { return s_->fd.get(); }
  // Writers seen to leave (each EOF crossed in follow mode).
  std::size_t disconnects() const noexcept { return s_->disconnects; }

private:
  // Pinned on the heap: a pending read's coroutine refers to it, never to
  // the FifoReader, which its owner may move.
  struct State {
    std::string path;
    UniqueFd fd;
    bool follow;
    bool writer_seen = false;
    std::size_t disconnects = 0;
  };
  FifoReader(UniqueFd fd, std::string path, bool follow)
      : s_(std::make_unique<State>(State{std::move(path), std::move(fd), follow})) {}
  static Task<Result<std::size_t>> read_on(State& s, std::span<std::byte> buf);
  std::unique_ptr<State> s_;
};

// Opens a FIFO for writing without blocking: ENXIO (no reader) is retried
// after `retry`, then after twice as long each time up to 250 ms, until a
// reader appears or the task is stopped.
Task<Result<UniqueFd>>
open_fifo_write(std::string path, std::chrono::nanoseconds retry = std::chrono::milliseconds(5));

} // namespace aio
