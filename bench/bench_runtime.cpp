// Per-operation cost of the runtime next to the same operation done with
// raw liburing in the same binary, on rings set up the same way.
#include "aio/aio.hpp"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

struct RawRing {
  io_uring ring{};
  RawRing() {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(256, &ring, &p) != 0) std::abort();
  }
  ~RawRing() { io_uring_queue_exit(&ring); }
  int wait_one() {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) != 0) std::abort();
    int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    return res;
  }
};

std::unique_ptr<aio::Runtime> runtime() {
  auto rt = aio::Runtime::create();
  if (!rt) std::abort();
  return std::move(*rt);
}

// A 4 KiB file in the page cache, in the build tree's temp dir.
struct CachedFile {
  std::string path = (std::filesystem::temp_directory_path() / "aio-bench-4k").string();
  int fd;
  CachedFile() {
    std::vector<char> data(4096, 'x');
    int w = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w < 0 || ::write(w, data.data(), data.size()) != 4096) std::abort();
    ::close(w);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    std::array<char, 4096> buf;
    if (::pread(fd, buf.data(), buf.size(), 0) != 4096) std::abort(); // warm the cache
  }
  ~CachedFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
};

// An empty FIFO with a writer connected, so a read waits (poll-armed).
struct EmptyFifo {
  std::string path =
      (std::filesystem::temp_directory_path() / ("aio-bench-fifo-" + std::to_string(getpid())))
          .string();
  int rd, wr;
  EmptyFifo() {
    ::unlink(path.c_str());
    if (mkfifo(path.c_str(), 0600) != 0) std::abort();
    rd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    wr = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  }
  ~EmptyFifo() {
    ::close(rd);
    ::close(wr);
    ::unlink(path.c_str());
  }
};

void BM_Nop_Raw(benchmark::State& state) {
  RawRing r;
  for (auto _ : state) {
    io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_nop(sqe);
    io_uring_submit_and_wait(&r.ring, 1);
    benchmark::DoNotOptimize(r.wait_one());
  }
}
BENCHMARK(BM_Nop_Raw);

void BM_Nop_Runtime(benchmark::State& state) {
  auto rt = runtime();
  rt->block_on([&]() -> aio::Task<void> {
    for (auto _ : state)
      benchmark::DoNotOptimize(co_await aio::nop());
  }());
}
BENCHMARK(BM_Nop_Runtime);

void BM_Read4K_Raw(benchmark::State& state) {
  RawRing r;
  CachedFile f;
  alignas(4096) static std::array<std::byte, 4096> buf;
  for (auto _ : state) {
    io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_read(sqe, f.fd, buf.data(), buf.size(), 0);
    io_uring_submit_and_wait(&r.ring, 1);
    if (r.wait_one() != 4096) std::abort();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 4096);
}
BENCHMARK(BM_Read4K_Raw);

void BM_Read4K_Runtime(benchmark::State& state) {
  auto rt = runtime();
  CachedFile f;
  alignas(4096) static std::array<std::byte, 4096> buf;
  rt->block_on([&]() -> aio::Task<void> {
    for (auto _ : state) {
      auto n = co_await aio::read(f.fd, buf, 0);
      if (!n || *n != 4096) std::abort();
    }
  }());
  state.SetBytesProcessed(int64_t(state.iterations()) * 4096);
}
BENCHMARK(BM_Read4K_Runtime);

// Arm a read on an empty FIFO and cancel it: both SQEs in one submission,
// both CQEs reaped, the read's result checked.
void BM_FifoArmCancel_Raw(benchmark::State& state) {
  RawRing r;
  EmptyFifo fifo;
  std::array<std::byte, 64> buf;
  for (auto _ : state) {
    io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_read(sqe, fifo.rd, buf.data(), buf.size(), -1);
    io_uring_sqe_set_data64(sqe, 1);
    sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_cancel64(sqe, 1, 0);
    io_uring_sqe_set_data64(sqe, 2);
    io_uring_submit_and_wait(&r.ring, 2);
    int read_res = 0;
    for (int i = 0; i < 2; ++i) {
      io_uring_cqe* cqe = nullptr;
      io_uring_wait_cqe(&r.ring, &cqe);
      if (cqe->user_data == 1) read_res = cqe->res;
      io_uring_cqe_seen(&r.ring, cqe);
    }
    if (read_res != -ECANCELED) std::abort();
  }
}
BENCHMARK(BM_FifoArmCancel_Raw);

// The same through the runtime's structured path: a child task reads, the
// scope is stopped, join waits for both CQEs.
void BM_FifoArmCancel_Runtime(benchmark::State& state) {
  auto rt = runtime();
  EmptyFifo fifo;
  rt->block_on([&]() -> aio::Task<void> {
    auto token = co_await aio::stop_token();
    for (auto _ : state) {
      aio::Scope scope(token);
      bool cancelled = false;
      scope.spawn([](int fd, bool& c) -> aio::Task<void> {
        std::array<std::byte, 64> buf;
        c = (co_await aio::read(fd, buf)).cancelled();
      }(fifo.rd, cancelled));
      scope.request_stop();
      co_await scope.join();
      if (!cancelled) std::abort();
    }
  }());
}
BENCHMARK(BM_FifoArmCancel_Runtime);

} // namespace

BENCHMARK_MAIN();
