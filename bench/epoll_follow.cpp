// The floor for acat -f on the readiness backend: the smallest epoll
// follower of one file with the backend's syscalls per line (wait in epoll
// on inotify, read the event, check and read the file, check, poll and
// write stdout, try the next event and re-arm), and nothing else. Beside
// tail -f it shows what an epoll design costs per line before any of
// acat's or the runtime's own code; scripts/bench-epoll.sh runs it.
//
// usage: epoll_follow FILE   (follows from the file's end, to stdout)
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const int file = ::open(argv[1], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  const int ino = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (file < 0 || ino < 0 || ep < 0) die("setup");
  if (::inotify_add_watch(ino, argv[1], IN_MODIFY) < 0) die("inotify_add_watch");
  off_t pos = ::lseek(file, 0, SEEK_END);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.fd = ino;
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, ino, &ev) != 0) die("epoll_ctl");
  static char buf[1 << 17];
  alignas(8) char events[256];
  bool pending = false; // an event already read by the try below
  for (;;) {
    if (!pending) {
      epoll_event got{};
      if (::epoll_wait(ep, &got, 1, -1) < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait");
      }
      if (::read(ino, events, sizeof events) < 0 && errno != EAGAIN) die("read inotify");
    }
    (void)::fcntl(file, F_GETFL);
    iovec iov{buf, sizeof buf};
    const ssize_t n = ::preadv2(file, &iov, 1, pos, 0);
    if (n < 0) die("read");
    pos += n;
    if (n > 0) {
      (void)::fcntl(1, F_GETFL);
      pollfd p{1, POLLOUT, 0};
      (void)::poll(&p, 1, 0);
      iovec out{buf, static_cast<std::size_t>(n)};
      if (::pwritev2(1, &out, 1, -1, 0) != n) die("write");
    }
    // The next event is tried first, then the registration re-armed.
    // (An event found here is handled without waiting: the registration
    // is still disarmed, so waiting would never end.)
    (void)::fcntl(ino, F_GETFL);
    pending = ::read(ino, events, sizeof events) >= 0;
    if (pending) continue;
    if (errno != EAGAIN) die("read inotify");
    if (::epoll_ctl(ep, EPOLL_CTL_MOD, ino, &ev) != 0) die("epoll_ctl");
  }
}
