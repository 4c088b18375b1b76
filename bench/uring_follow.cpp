// The floor for acat -f: the smallest io_uring follower of one file, with
// acat's ring flags and acat's path per line (an inotify read with the
// file's read hard-linked behind it, then the write of the new bytes
// through the ring), and nothing else: no runtime, no cancellation, no
// error handling beyond giving up. bench-acat.sh runs it beside tail -f and
// acat -f, so what acat's own code costs per line shows in every run.
//
// usage: uring_follow FILE   (follows from the file's end, to stdout)
#include <liburing.h>

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void die(const char* what, int err) {
  std::fprintf(stderr, "uring_follow: %s: error %d\n", what, err);
  std::exit(1);
}

// Submits what is queued, waits for `n` CQEs in one enter, and returns the
// result of the one tagged `want`.
int submit_and_reap(io_uring& ring, unsigned n, std::uint64_t want) {
  if (int r = io_uring_submit_and_wait(&ring, n); r < 0) die("io_uring_submit_and_wait", r);
  int res = 0;
  unsigned head, seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring, head, cqe) {
    if (cqe->user_data == want) res = cqe->res;
    ++seen;
  }
  if (seen < n) die("reap", seen);
  io_uring_cq_advance(&ring, seen);
  return res;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: uring_follow FILE\n");
    return 2;
  }
  io_uring ring;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (int r = io_uring_queue_init_params(8, &ring, &p); r < 0) die("io_uring_queue_init", r);
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || ino < 0 || inotify_add_watch(ino, argv[1], IN_MODIFY) < 0) die("open", errno);
  off_t pos = lseek(fd, 0, SEEK_END);
  static char events[4096];
  static char buf[128 * 1024];
  enum : std::uint64_t { kEvent = 1, kRead = 2, kWrite = 3 };
  for (;;) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, ino, events, sizeof events, 0);
    sqe->flags |= IOSQE_IO_HARDLINK;
    sqe->user_data = kEvent;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buf, sizeof buf, static_cast<std::uint64_t>(pos));
    sqe->user_data = kRead;
    int n = submit_and_reap(ring, 2, kRead);
    if (n < 0) die("read", n);
    if (n == 0) continue;
    pos += n;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, STDOUT_FILENO, buf, static_cast<unsigned>(n), -1);
    sqe->user_data = kWrite;
    if (int w = submit_and_reap(ring, 1, kWrite); w != n) die("write", w);
  }
}
