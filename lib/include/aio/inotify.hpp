// inotify read through the ring. The fd is IN_NONBLOCK: a read of a blocking
// inotify fd would go to an io-wq worker, while a read of a non-blocking one
// is poll-armed by the kernel.
#pragma once

#include "aio/ops.hpp"
#include "aio/result.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <sys/inotify.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace aio {

struct InotifyEvent {
  int wd;
  std::uint32_t mask;
  std::uint32_t cookie;
  // Empty for events on the watched object itself. It points into the
  // watcher's buffer: valid until its next call to next().
  std::string_view name;
};

class Inotify {
public:
  static Result<Inotify> create();
  // Moving is safe even while next() is pending: it works on the state,
  // which stays where it is. A moved-from watcher may only be destroyed or
  // assigned to.
  Inotify(Inotify&&) noexcept = default;
  Inotify& operator=(Inotify&&) noexcept = default;

  // There is no io_uring opcode for these; they do not block.
  Result<int> add_watch(const std::string& path, std::uint32_t mask);
  Result<void> remove_watch(int wd);

  // Waits for at least one event and gives all that are queued, valid
  // until the next call. Nothing is allocated per batch: this is on the
  // path from an append to acat -f's write, where every cold cache line
  // after a wake-up costs.
  Task<Result<std::span<const InotifyEvent>>> next() { return next_on(*s_); }
  int fd() const noexcept { return s_->fd.get(); }

  // The read next() makes, as a bare operation to link another behind
  // (aio::Linked); take() turns its count into the batch. Where the kernel
  // answers it with EAGAIN (no poll-armed read of inotify), call next().
  auto read_op() noexcept { return read(s_->fd.get(), std::span(s_->buf.get(), kBufSize)); }
  std::span<const InotifyEvent> take(std::size_t n) { return s_->take(n); }

  // A read of one event of the watched object itself (one without a name)
  // as the quiet head of a linked pair (Operation::set_quiet): its success
  // posts no CQE, so the wait ends with the tail's alone. It asks for just
  // that event's size: a short read counts as failed in a link and would
  // post its CQE. An event with a name does not fit: EINVAL, then next()
  // reads it. After its success, take_quiet() gives the event.
  auto quiet_read_op() noexcept { return quiet_read(s_->fd.get(), quiet_buffer()); }
  std::span<const InotifyEvent> take_quiet();
  // Where that read puts its event, for a caller that makes the read itself.
  std::span<std::byte> quiet_buffer() noexcept { return {s_->buf.get(), kEventSize}; }

  // Replaces `out` with the events packed in `raw`; names point into `raw`.
  static void parse(std::span<const std::byte> raw, std::vector<InotifyEvent>& out);

private:
  // Room for many events per read: a burst of appends to many files is
  // read in one go.
  static constexpr std::size_t kBufSize = std::size_t{64} * 1024;
  static constexpr std::size_t kEventSize = sizeof(inotify_event); // one without a name
  // Pinned on the heap: the kernel writes into `buf` and a pending next()
  // refers to the state, never to the Inotify, which its owner may move.
  struct State {
    explicit State(UniqueFd f) : fd(std::move(f)), buf(new std::byte[kBufSize]) {}
    std::span<const InotifyEvent> take(std::size_t n);
    UniqueFd fd;
    std::unique_ptr<std::byte[]> buf;
    std::vector<InotifyEvent> events;
  };
  explicit Inotify(UniqueFd fd) : s_(std::make_unique<State>(std::move(fd))) {}
  static Task<Result<std::span<const InotifyEvent>>> next_on(State& s);
  std::unique_ptr<State> s_;
};

} // namespace aio
