#include "follow_chain.hpp"

#include "aio/hot.hpp"
#include "aio/ops.hpp"

#include <sys/inotify.h>

#include <cerrno>
#include <cstring>

namespace acat {

FollowChain::FollowChain(const Setup& s) noexcept
    : s_(s), event_op_("inotify-read", s.inotify_fd, &prep_event, &on_pair_step, *this, true),
      read_op_("read", s.file_fd, &prep_read, &on_pair_step, *this),
      write_op_("write", s.out_fd, &prep_write, &on_write, *this) {}

AIO_HOT void FollowChain::prep_event(aio::Operation& op, io_uring_sqe* sqe) noexcept {
  const Setup& s = static_cast<Step&>(op).chain.s_;
  io_uring_prep_read(sqe, s.inotify_fd, s.event.data(), static_cast<unsigned>(s.event.size()),
                     aio::kCurrentPosition);
}

AIO_HOT void FollowChain::prep_read(aio::Operation& op, io_uring_sqe* sqe) noexcept {
  const Setup& s = static_cast<Step&>(op).chain.s_;
  io_uring_prep_read(sqe, s.file_fd, s.buf.data(), static_cast<unsigned>(s.buf.size()), s.pos);
}

AIO_HOT void FollowChain::prep_write(aio::Operation& op, io_uring_sqe* sqe) noexcept {
  FollowChain& c = static_cast<Step&>(op).chain;
  const auto len = static_cast<std::size_t>(c.read_op_.raw_result());
  io_uring_prep_write(sqe, c.s_.out_fd, c.s_.buf.data() + c.written_,
                      static_cast<unsigned>(len - c.written_), aio::kCurrentPosition);
}

// Both steps of a pair end here; the second one to end goes on. The quiet
// inotify read ends first when it succeeds (the runtime learns of it from
// the file read's CQE); when it fails, their CQEs may come in either order.
AIO_HOT void FollowChain::on_pair_step(aio::Operation& op) noexcept {
  FollowChain& c = static_cast<Step&>(op).chain;
  if (--c.left_ == 0) c.pair_done();
}

// The steps are started with no token: the chain's own registration
// cancels them (on_stop), so a stop is checked here instead.
AIO_HOT bool FollowChain::start_turn() noexcept {
  left_ = 2;
  written_ = 0;
  write_res_ = 0;
  if (stopped_) {
    unstarted_ = true;
    return false;
  }
  return rt_->start_linked(event_op_, read_op_, aio::StopToken());
}

void FollowChain::on_stop(void* self) noexcept {
  auto& c = *static_cast<FollowChain*>(self);
  c.stopped_ = true;
  // Only the steps in flight or queued are affected; the others are over.
  c.rt_->cancel(c.event_op_);
  c.rt_->cancel(c.read_op_);
  c.rt_->cancel(c.write_op_);
}

AIO_HOT void FollowChain::pair_done() noexcept {
  if (read_op_.raw_result() <= 0) return end();
  start_write();
}

// The stop may have come in the same batch of completions as the pair's,
// after cancelling nothing: a write started now would outlive it.
AIO_HOT void FollowChain::start_write() noexcept {
  if (stopped_) {
    write_res_ = -ECANCELED;
    return end();
  }
  ++writes_;
  // Submitted now, not at the loop's next wait: the reader of stdout is
  // waiting for these bytes (see aio::Urgent).
  (void)rt_->start(write_op_, aio::StopToken(), true);
}

AIO_HOT void FollowChain::on_write(aio::Operation& op) noexcept {
  static_cast<Step&>(op).chain.write_done();
}

AIO_HOT void FollowChain::write_done() noexcept {
  const int res = write_op_.raw_result();
  const auto len = static_cast<std::size_t>(read_op_.raw_result());
  if (res <= 0) {
    // 0 would be a write that can make no progress: call it EIO rather
    // than spin on it.
    write_res_ = res < 0 ? res : -EIO;
    return end();
  }
  written_ += static_cast<std::size_t>(res);
  if (written_ < len) {
    // A short write (a pipe that had room for part of it): write the rest.
    return start_write();
  }
  write_res_ = static_cast<int>(written_);
  s_.pos += len;
  ++turns_;
  if (!plain_turn()) return end();
  if (!start_turn()) end();
}

// The only turn that needs nothing but another: the file's own IN_MODIFY,
// and a read that neither found the file cut nor may have left bytes behind.
AIO_HOT bool FollowChain::plain_turn() const noexcept {
  if (event_op_.raw_result() != 0) return false;
  const auto n = static_cast<std::size_t>(read_op_.raw_result());
  if (n >= s_.buf.size()) return false;
  inotify_event ev;
  std::memcpy(&ev, s_.event.data(), sizeof ev);
  return ev.wd == s_.wd && ev.mask == IN_MODIFY;
}

FollowChain::Outcome FollowChain::await_resume() const noexcept {
  if (unstarted_)
    return {aio::interpret(-ECANCELED), aio::interpret(-ECANCELED), aio::interpret(write_res_)};
  return {aio::interpret(event_op_.raw_result()), aio::interpret(read_op_.raw_result()),
          aio::interpret(write_res_)};
}

} // namespace acat
