// Ring: the io_uring instance (RAII), its setup with fallbacks, its opcode
// probe and the cap on io-wq workers.
#pragma once

#include "aio/result.hpp"

#include <liburing.h>

#include <memory>
#include <string>
#include <vector>

namespace aio {

struct RingOptions {
  unsigned entries = 256;
  // Cap for each of io-wq's two pools (bounded: regular files; unbounded:
  // sockets, pipes). 0 leaves the kernel's default.
  unsigned max_iowq_workers = 2;
  // A kernel thread (iou-sqp-PID) polls the SQ, so submissions need no
  // io_uring_enter while it is awake; it sleeps after sq_thread_idle_ms
  // without work and liburing's submit calls wake it (IORING_SQ_NEED_WAKEUP).
  // Off by default: it costs a thread spinning on a CPU.
  bool sqpoll = false;
  unsigned sq_thread_idle_ms = 50;
};

class Ring {
public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // Sets up the ring, preferring SINGLE_ISSUER|DEFER_TASKRUN, then
  // COOP_TASKRUN, then no flags; each with TASKRUN_FLAG where the kernel
  // has it, so the runtime can see task work left pending after a wait.
  // With opts.sqpoll: SQPOLL|SINGLE_ISSUER, then SQPOLL alone (SQPOLL
  // cannot be combined with DEFER_TASKRUN); a kernel refusing SQPOLL fails.
  // On failure `why` says what to tell a user.
  Result<void> init(const RingOptions& opts, std::string* why = nullptr);

  // Tears the ring down (a runtime that chose another backend after all).
  void close() noexcept;
  bool live() const noexcept { return live_; }

  io_uring* get() noexcept { return &ring_; }
  unsigned setup_flags() const noexcept { return flags_; }
  unsigned sq_entries() const noexcept { return ring_.sq.ring_entries; }
  unsigned cq_entries() const noexcept { return ring_.cq.ring_entries; }
  bool supports(int opcode) const noexcept;
  // Names of the opcodes in `needed` this kernel lacks.
  std::vector<std::string> missing(const std::vector<int>& needed) const;

private:
  int probe() noexcept; // 0 or -errno

  io_uring ring_{};
  bool live_ = false;
  unsigned flags_ = 0;
  std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> probe_{nullptr, io_uring_free_probe};
};

// Why io_uring cannot be used here, from /proc/sys/kernel/io_uring_disabled
// and the setup errno: a sentence for the user.
std::string io_uring_unavailable_reason(std::error_code setup_error);
// The same, given the sysctl's value (-1: unknown), for tests and callers
// that already read it.
std::string io_uring_unavailable_reason(std::error_code setup_error, int disabled_sysctl);

const char* opcode_name(int opcode) noexcept;

} // namespace aio
