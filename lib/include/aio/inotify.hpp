// inotify read through the ring. The fd is IN_NONBLOCK: a read of a blocking
// inotify fd would go to an io-wq worker, while a read of a non-blocking one
// is poll-armed by the kernel.
#pragma once

#include "aio/result.hpp"
#include "aio/task.hpp"
#include "aio/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace aio {

struct InotifyEvent {
  int wd;
  std::uint32_t mask;
  std::uint32_t cookie;
  std::string name; // empty for events on the watched object itself
};

class Inotify {
public:
  static Result<Inotify> create();
  Inotify(Inotify&&) noexcept = default;
  Inotify& operator=(Inotify&&) noexcept = default;

  // There is no io_uring opcode for these; they do not block.
  Result<int> add_watch(const std::string& path, std::uint32_t mask);
  Result<void> remove_watch(int wd);

  // Waits for at least one event and gives all that are queued.
  Task<Result<std::vector<InotifyEvent>>> next();
  int fd() const noexcept { return fd_.get(); }

  static std::vector<InotifyEvent> parse(std::span<const std::byte> raw);

private:
  explicit Inotify(UniqueFd fd);
  UniqueFd fd_;
  // On the heap so that moving the watcher never moves a buffer the kernel
  // may be writing into.
  std::unique_ptr<std::byte[]> buf_;
};

} // namespace aio
