#include "aio/ring.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace aio {

Ring::~Ring() { close(); }

void Ring::close() noexcept {
  if (!live_) return;
  io_uring_queue_exit(&ring_);
  live_ = false;
  probe_.reset();
}

Result<void> Ring::init(const RingOptions& opts, std::string* why) {
  // TASKRUN_FLAG came with COOP_TASKRUN (5.19), before DEFER_TASKRUN (6.1).
  const std::vector<unsigned> attempts =
      opts.sqpoll ? std::vector<unsigned>{IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER,
                                          IORING_SETUP_SQPOLL}
                  : std::vector<unsigned>{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                              IORING_SETUP_TASKRUN_FLAG,
                                          IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 0};
  int ret = -EINVAL;
  for (unsigned flags : attempts) {
    io_uring_params p{};
    p.flags = flags;
    if ((flags & IORING_SETUP_SQPOLL) != 0) p.sq_thread_idle = opts.sq_thread_idle_ms;
    // At least 2: a linked pair needs room for two operations at once
    // (the runtime lets half the CQ be operations), or it would wait forever.
    ret = io_uring_queue_init_params(std::max(opts.entries, 2U), &ring_, &p);
    if (ret == 0) {
      flags_ = flags;
      break;
    }
    if (ret != -EINVAL) break; // only an unknown flag is worth another try
  }
  if (ret < 0) {
    auto ec = errno_code(-ret);
    if (why != nullptr) *why = io_uring_unavailable_reason(ec);
    return ec;
  }
  live_ = true;
  if (int r = probe(); r < 0) {
    // A seccomp profile may allow io_uring_setup but deny io_uring_register:
    // say that, not that every operation is missing.
    auto ec = errno_code(-r);
    if (why != nullptr) *why = "cannot probe io_uring's operations: " + ec.message();
    close();
    return ec;
  }
  if (opts.max_iowq_workers > 0) {
    unsigned vals[2] = {opts.max_iowq_workers, opts.max_iowq_workers};
    // Older kernels lack the cap; the ring still works, only unbounded.
    (void)io_uring_register_iowq_max_workers(&ring_, vals);
  }
  return {};
}

// io_uring_get_probe_ring, but keeping the register call's errno.
int Ring::probe() noexcept {
  constexpr unsigned kOps = 256; // every opcode number a probe can name
  auto* p = static_cast<io_uring_probe*>(
      std::calloc(1, sizeof(io_uring_probe) + kOps * sizeof(io_uring_probe_op)));
  if (p == nullptr) return -ENOMEM;
  const int r = io_uring_register_probe(&ring_, p, kOps);
  if (r < 0) {
    std::free(p);
    return r;
  }
  probe_.reset(p); // io_uring_free_probe frees what calloc gave
  return 0;
}

bool Ring::supports(int opcode) const noexcept {
  return probe_ != nullptr && io_uring_opcode_supported(probe_.get(), opcode) != 0;
}

std::vector<std::string> Ring::missing(const std::vector<int>& needed) const {
  std::vector<std::string> out;
  for (int op : needed)
    if (!supports(op)) out.emplace_back(opcode_name(op));
  return out;
}

std::string io_uring_unavailable_reason(std::error_code setup_error) {
  int disabled = -1;
  std::ifstream("/proc/sys/kernel/io_uring_disabled") >> disabled;
  return io_uring_unavailable_reason(setup_error, disabled);
}

std::string io_uring_unavailable_reason(std::error_code setup_error, int disabled) {
  if (disabled == 2) return "io_uring is disabled on this host (kernel.io_uring_disabled=2)";
  if (disabled == 1 && setup_error == std::errc::operation_not_permitted)
    return "io_uring is restricted to the io_uring_group on this host "
           "(kernel.io_uring_disabled=1)";
  if (setup_error == std::errc::function_not_supported)
    return "this kernel has no io_uring (ENOSYS)";
  if (setup_error == std::errc::not_enough_memory)
    return "cannot set up io_uring: out of locked memory (raise RLIMIT_MEMLOCK)";
  return "cannot set up io_uring: " + setup_error.message();
}

const char* opcode_name(int opcode) noexcept {
  switch (opcode) {
  case IORING_OP_NOP: return "NOP";
  case IORING_OP_READ: return "READ";
  case IORING_OP_WRITE: return "WRITE";
  case IORING_OP_READV: return "READV";
  case IORING_OP_WRITEV: return "WRITEV";
  case IORING_OP_FSYNC: return "FSYNC";
  case IORING_OP_POLL_ADD: return "POLL_ADD";
  case IORING_OP_TIMEOUT: return "TIMEOUT";
  case IORING_OP_ASYNC_CANCEL: return "ASYNC_CANCEL";
  case IORING_OP_OPENAT: return "OPENAT";
  case IORING_OP_CLOSE: return "CLOSE";
  case IORING_OP_STATX: return "STATX";
  case IORING_OP_SPLICE: return "SPLICE";
  case IORING_OP_RENAMEAT: return "RENAMEAT";
  case IORING_OP_UNLINKAT: return "UNLINKAT";
  default: return "opcode";
  }
}

} // namespace aio
