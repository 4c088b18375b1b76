// The FIFO cancel storm on each backend: a read armed on a FIFO that never
// gets data, then cancelled, N times in a row, as a select!-style loop
// racing a read against a timer does. Prints the process's threads, fds
// and RSS as the storm goes on: a thread pool that abandons each blocked
// read grows by a thread per round; this runtime must stay flat on both.
//
// usage: cancel_storm [ROUNDS]   (default 100000; backends: uring, epoll)
#include "aio/aio.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

int entries(const char* dir) {
  int n = 0;
  DIR* d = opendir(dir);
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d))
    n += e->d_name[0] != '.' ? 1 : 0;
  closedir(d);
  return n;
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  for (std::string key; f >> key;)
    if (key == "VmRSS:") {
      long v = 0;
      f >> v;
      return v;
    }
  return -1;
}

void row(const char* backend, long round) {
  std::printf("%-8s %8ld %8d %5d %8ld\n", backend, round, entries("/proc/self/task"),
              entries("/proc/self/fd") - 1, rss_kib());
}

aio::Task<void> storm(int fd, long rounds, const char* backend) {
  for (long round = 0; round < rounds; ++round) {
    if (round % (rounds / 4) == 0) row(backend, round);
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int f) -> aio::Task<void> {
      std::array<std::byte, 64> buf{};
      (void)co_await aio::read(f, buf);
    }(fd));
    (void)co_await aio::nop(); // the read is armed now
    scope.request_stop();
    co_await scope.join();
  }
  row(backend, rounds);
}

} // namespace

int main(int argc, char** argv) {
  const long rounds = argc > 1 ? std::atol(argv[1]) : 100000;
  if (rounds < 4) return 2;
  std::printf("%-8s %8s %8s %5s %8s\n", "backend", "round", "threads", "fds", "RSS-KiB");
  for (auto kind : {aio::BackendKind::Uring, aio::BackendKind::Epoll}) {
    char dir[] = "/tmp/cancel_storm.XXXXXX";
    if (mkdtemp(dir) == nullptr) return 1;
    const std::string path = std::string(dir) + "/fifo";
    if (mkfifo(path.c_str(), 0600) != 0) return 1;
    // A writer that stays connected and silent: every read waits.
    const int rd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    const int wr = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    aio::RuntimeOptions o = aio::default_runtime_options();
    o.backend = kind;
    std::string why;
    auto rt = aio::Runtime::create(o, &why);
    const char* name = aio::backend_kind_name(kind);
    if (!rt) {
      std::printf("%-8s unavailable: %s\n", name, why.c_str());
    } else {
      (*rt)->block_on(storm(rd, rounds, name));
      rt->reset(); // drained and closed before the fds it waited on
    }
    ::close(rd);
    ::close(wr);
    ::unlink(path.c_str());
    ::rmdir(dir);
  }
  return 0;
}
