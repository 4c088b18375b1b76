#include "tee_input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace afifo::tee_latest {

aio::UniqueFd own_description(int fd, int flags) {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  int nfd = ::open(proc.c_str(), flags | O_CLOEXEC);
  if (nfd < 0) nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return aio::UniqueFd(nfd);
}

void grow_pipe(int fd, int bytes) noexcept {
  static const int max = [] {
    int m = 0;
    if (std::FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "re")) {
      if (std::fscanf(f, "%d", &m) != 1) m = 0;
      std::fclose(f);
    }
    return m;
  }();
  const int want = max > 0 ? std::min(bytes, max) : bytes;
  const int cur = fcntl(fd, F_GETPIPE_SZ);
  if (cur > 0 && cur < want) (void)fcntl(fd, F_SETPIPE_SZ, want);
}

std::string display_name(const std::string& arg, bool output) {
  if (arg == "-") return output ? "standard output" : "standard input";
  return arg;
}

aio::Task<aio::Result<std::size_t>> write_ready(int fd, std::span<const std::byte> buf) {
  for (;;) {
    auto r = co_await aio::write(fd, buf);
    if (r || r.error() != std::errc::resource_unavailable_try_again) co_return r;
    auto p = co_await aio::poll(fd, POLLOUT);
    if (!p) co_return p.error();
  }
}

aio::Task<aio::Result<Input>> Input::open(const std::string& arg, bool follow) {
  Input in;
  struct stat st {};
  if (arg == "-") {
    if (fstat(0, &st) != 0) co_return aio::errno_code(errno);
    if (S_ISFIFO(st.st_mode)) {
      auto r = aio::FifoReader::adopt(own_description(0, O_RDONLY | O_NONBLOCK), "", false);
      if (!r) co_return r.error();
      in.fifo_.emplace(std::move(*r));
    } else {
      in.fd_ = aio::UniqueFd(fcntl(0, F_DUPFD_CLOEXEC, 3));
      if (!in.fd_) co_return aio::errno_code(errno);
      in.sync_ = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
    }
    co_return in;
  }
  if (::stat(arg.c_str(), &st) != 0) co_return aio::errno_code(errno);
  if (S_ISDIR(st.st_mode)) co_return aio::errno_code(EISDIR);
  if (S_ISFIFO(st.st_mode)) {
    auto r = co_await aio::FifoReader::open(arg, follow);
    if (!r) co_return r.error();
    in.fifo_.emplace(std::move(*r));
    co_return in;
  }
  in.fd_ = aio::UniqueFd(::open(arg.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.fd_) co_return aio::errno_code(errno);
  in.sync_ = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
  co_return in;
}

aio::Task<aio::Result<std::size_t>> Input::read(std::span<std::byte> buf) {
  if (fifo_) co_return co_await fifo_->read(buf);
  if (sync_) {
    for (;;) {
      const ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
      if (n >= 0) co_return static_cast<std::size_t>(n);
      if (errno != EINTR) co_return aio::errno_code(errno);
    }
  }
  co_return co_await aio::read_ready(fd_.get(), buf);
}

} // namespace afifo::tee_latest
