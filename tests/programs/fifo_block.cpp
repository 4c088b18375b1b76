// A tool in miniature for the signal tests: follows a FIFO that never gets
// data, prints "ready" once its read is armed, dies of the signal when told.
// With a count, that many more reads wait on the FIFO beside it.
#include "aio/aio.hpp"

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>

static aio::Task<int> body(const char* path, int parked) {
  auto reader = co_await aio::FifoReader::open(path, true);
  if (!reader) co_return 1;
  aio::Scope scope(co_await aio::stop_token());
  aio::UniqueFd rw(::open(path, O_RDWR | O_CLOEXEC)); // reads on it wait for ever
  if (!rw) co_return 1;
  for (int i = 0; i < parked; ++i)
    scope.spawn([](int fd) -> aio::Task<void> {
      std::array<std::byte, 8> buf{};
      (void)co_await aio::read(fd, buf);
    }(rw.get()));
  scope.spawn([](aio::FifoReader& rd) -> aio::Task<void> {
    std::array<std::byte, 64> buf{};
    while ((co_await rd.read(buf)).ok()) {
    }
  }(*reader));
  (void)co_await aio::nop();
  std::puts("ready");
  std::fflush(stdout);
  co_await scope.join();
  co_return 0;
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) return 2;
  const int parked = argc == 3 ? std::atoi(argv[2]) : 0;
  std::string why;
  auto rt = aio::Runtime::create(aio::default_runtime_options(), &why);
  if (!rt) {
    std::fprintf(stderr, "fifo_block: %s\n", why.c_str());
    return 1;
  }
  int code = (*rt)->block_on(aio::run_interruptible(body(argv[1], parked)));
  rt->reset();
  return aio::exit_status(code);
}
