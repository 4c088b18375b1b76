// Helpers shared by the tests: process facts read from /proc, temp dirs,
// and a runtime per test.
#pragma once

#include "aio/aio.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace test {

inline int count_entries(const char* dir) {
  int n = 0;
  DIR* d = opendir(dir);
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// Threads of this process, io-wq workers included (they are tasks of it).
inline int thread_count() { return count_entries("/proc/self/task"); }
// io-wq workers of rings already closed exit asynchronously in the kernel.
// Tests that count threads first wait for those to go (up to 5 s), so that
// what they count is their own ring's doing.
inline int settled_thread_count() {
  for (int i = 0; i < 500 && thread_count() > 1; ++i)
    usleep(10000);
  return thread_count();
}

inline int fd_count() { return count_entries("/proc/self/fd") - 1; } // minus opendir's own

inline long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmRSS:") {
      long v = 0;
      f >> v;
      return v;
    }
    std::getline(f, key);
  }
  return -1;
}

class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aio-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string fifo(const std::string& name) const {
    std::string p = file(name);
    if (mkfifo(p.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    return p;
  }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

// A FIFO with both ends open non-blocking: with the writer connected, an
// empty read waits (poll-armed in the kernel) instead of seeing EOF.
struct ConnectedFifo {
  TempDir dir;
  std::string path = dir.fifo("f");
  aio::UniqueFd rd{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  aio::UniqueFd wr{::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)};
};

// A read that holds `fd` until something comes (a ConnectedFifo's rd),
// for tests of what a close does to an fd in use.
inline aio::Task<void> pending_read(int fd) {
  std::array<std::byte, 8> buf{};
  (void)co_await aio::read(fd, buf);
}

// A bare operation (no coroutine) that records how it ended.
struct RecordingRead final : aio::Operation {
  RecordingRead(int fd, int& calls, int& result)
      : Operation("read", fd, &RecordingRead::fill, &RecordingRead::record), calls_(calls),
        result_(result) {}
  static void fill(Operation& op, io_uring_sqe* sqe) noexcept {
    auto& self = static_cast<RecordingRead&>(op);
    io_uring_prep_read(sqe, self.fd(), self.buf_.data(), self.buf_.size(), -1);
  }
  static void record(Operation& op) noexcept {
    auto& self = static_cast<RecordingRead&>(op);
    ++self.calls_;
    self.result_ = self.raw_result();
  }
  std::array<std::byte, 16> buf_{};
  int& calls_;
  int& result_;
};

inline std::unique_ptr<aio::Runtime> make_runtime(unsigned entries = 256) {
  aio::RuntimeOptions o = aio::default_runtime_options();
  o.ring.entries = entries;
  std::string why;
  auto rt = aio::Runtime::create(o, &why);
  if (!rt) throw std::runtime_error("runtime: " + why);
  return std::move(*rt);
}

inline std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

} // namespace test
