// The one input of tee and latest: a FIFO, a pipe, a file or stdin ("-"),
// read without blocking the thread where it can wait (FIFOs and pipes
// through the ring, no false EOF before the first writer) and with read(2)
// where it cannot (a regular file: through the ring a tmpfs or uncached
// read would take an io-wq worker).
#pragma once

#include "aio/fifo.hpp"
#include "aio/result.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace afifo::tee_latest {

// An already open pipe (stdin, stdout) reopened through /proc as a file
// description of our own, so O_NONBLOCK is not forced on the one the shell
// and other processes share. Falls back to a duplicate.
aio::UniqueFd own_description(int fd, int flags);

// Grows pipe `fd` to `bytes` (at most fs.pipe-max-size; never shrinks it).
// A refusal (the user's pipe quota) is harmless: the pipe stays as it was.
void grow_pipe(int fd, int bytes) noexcept;

// "standard input"/"standard output" for "-", else the name as given.
std::string display_name(const std::string& arg, bool output);

// A write through the ring to a pipe or socket. A full pipe is polled by
// the kernel (no EAGAIN, no io-wq worker: checked on 6.18 with AIO_TRACE);
// an EAGAIN (the readiness backend, older kernels) waits for POLLOUT
// through the ring and tries again.
aio::Task<aio::Result<std::size_t>> write_ready(int fd, std::span<const std::byte> buf);

class Input {
public:
  // Opens IN ("-": stdin). With `follow`, a named FIFO is read across
  // writers (EOF only when stopped).
  static aio::Task<aio::Result<Input>> open(const std::string& arg, bool follow = false);
  // 0: the end of the input.
  aio::Task<aio::Result<std::size_t>> read(std::span<std::byte> buf);
  // The fd of an input that is a pipe or FIFO (tee(2) can take from it), or -1.
  int pipe_fd() const noexcept { return fifo_ ? fifo_->fd() : -1; }

private:
  std::optional<aio::FifoReader> fifo_;
  aio::UniqueFd fd_;
  bool sync_ = false;
};

} // namespace afifo::tee_latest
