// acat -f's usual case as a chain of completions: one open file, and acat
// the only writer of stdout. Each turn is the inotify read with the file's
// read linked behind it, then the write of the new bytes; each step is
// started from the previous one's completion, inside the runtime's
// dispatch. The task awaiting the chain resumes only when a turn was not
// that plain: any event but the file's own IN_MODIFY, a read that found
// nothing (a truncation shows so) or filled the buffer, an error, a stop.
//
// Why not a coroutine loop: after each wake-up everything on the way from
// the CQE to the write is cold, and resuming a coroutine frame (its actor,
// its awaiters, the values they return) was about a third of that way,
// ~2 us per line on this VM, which put acat -f behind tail -f. Here the
// completion that brings the bytes is a few lines from the write it starts.
// A stop cancels the step in flight (Runtime::cancel) and the chain ends
// with ECANCELED. The chain registers on the stop token once, while it is
// awaited, rather than each step on every start: attaching and detaching
// a step touched the token's source and its neighbours in the list, cold
// lines on the way from the wake-up to the write.
#pragma once

#include "aio/result.hpp"
#include "aio/runtime.hpp"

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>

namespace acat {

class FollowChain {
public:
  struct Setup {
    int inotify_fd;
    // Exactly one nameless event's room (Inotify::quiet_buffer()): a named
    // event does not fit and ends the chain with EINVAL.
    std::span<std::byte> event;
    int wd; // the file's watch
    int file_fd;
    std::span<std::byte> buf;
    int out_fd;
    std::uint64_t& pos; // the file offset to read at; advanced past what is written
  };
  // How the last turn ended. `event` and `read` are those of its pair;
  // `write` is the first failure of its write, or the bytes written.
  struct Outcome {
    aio::Result<std::size_t> event;
    aio::Result<std::size_t> read;
    aio::Result<std::size_t> write;
  };

  explicit FollowChain(const Setup& s) noexcept;
  FollowChain(const FollowChain&) = delete;
  FollowChain& operator=(const FollowChain&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P> bool await_suspend(std::coroutine_handle<P> h) noexcept {
    waiter_ = h;
    rt_ = aio::Runtime::current();
    stopped_ = unstarted_ = false;
    // Runs on_stop at once if the task is already stopped.
    stop_cb_.attach(h.promise().stop_token().source(), &on_stop, this);
    if (start_turn()) return true;
    stop_cb_.detach();
    return false;
  }
  Outcome await_resume() const noexcept;

  // Turns whose bytes were written in full, the last one's included.
  std::uint64_t turns() const noexcept { return turns_; }
  // Writes submitted: more than turns() when a write came back short.
  std::uint64_t writes() const noexcept { return writes_; }

private:
  // One step: the chain's operations call back into it.
  class Step : public aio::Operation {
  public:
    Step(const char* name, int fd, PrepareFn prepare, CompleteFn complete, FollowChain& chain,
         bool quiet = false) noexcept
        : Operation(name, fd, prepare, complete), chain(chain) {
      if (quiet) set_quiet();
    }
    ~Step() = default;
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;
    FollowChain& chain;
  };

  static void prep_event(aio::Operation& op, io_uring_sqe* sqe) noexcept;
  static void prep_read(aio::Operation& op, io_uring_sqe* sqe) noexcept;
  static void prep_write(aio::Operation& op, io_uring_sqe* sqe) noexcept;
  static void on_pair_step(aio::Operation& op) noexcept;
  static void on_write(aio::Operation& op) noexcept;
  static void on_stop(void* self) noexcept;

  bool start_turn() noexcept;
  void pair_done() noexcept;
  void start_write() noexcept;
  void write_done() noexcept;
  bool plain_turn() const noexcept;
  void end() noexcept {
    stop_cb_.detach();
    waiter_.resume();
  }

  Setup s_;
  Step event_op_;
  Step read_op_;
  Step write_op_;
  unsigned left_ = 0;       // steps of the current pair still to complete
  std::size_t written_ = 0; // of this turn's bytes
  int write_res_ = 0;       // the last write's raw result
  bool stopped_ = false;    // on_stop ran: start nothing more
  bool unstarted_ = false;  // a stop came before the turn's pair was started
  std::uint64_t turns_ = 0;
  std::uint64_t writes_ = 0;
  aio::Runtime* rt_ = nullptr;
  aio::StopCallback stop_cb_;
  std::coroutine_handle<> waiter_;
};

} // namespace acat
