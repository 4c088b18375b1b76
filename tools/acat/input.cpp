#include "input.hpp"

#include "aio/ops.hpp"
#include "quote.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/core.h>

namespace acat {

void Context::report(const std::string& what, std::error_code ec) {
  had_error = true;
  fmt::print(stderr, "acat: {}: {}\n", what, ec.message());
}

// tail names stdin "standard input" and always quotes; cat says "-" and
// quotes only what the shell would read otherwise.
std::string Context::quoted(const Input& in) const {
  return tail_style() ? tools::quote(in.src.name) : tools::quote_if_needed(in.path);
}

void Context::report_open(const Input& in, std::error_code ec) {
  if (!tail_style()) return report(quoted(in), ec);
  report("cannot open " + quoted(in) + " for reading", ec);
}

void Context::report_read(const Input& in, std::error_code ec) {
  if (!tail_style()) return report(quoted(in), ec);
  report("error reading " + quoted(in), ec);
}

void Context::note(const std::string& text) const { fmt::print(stderr, "acat: {}\n", text); }

AIO_HOT aio::Result<struct stat> stat_fd(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return aio::errno_code(errno);
  return st;
}

aio::Result<struct stat> stat_path(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return aio::errno_code(errno);
  return st;
}

namespace {

Kind kind_of(mode_t mode) {
  if (S_ISREG(mode)) return Kind::Regular;
  if (S_ISFIFO(mode) || S_ISSOCK(mode)) return Kind::Fifo;
  return Kind::Other;
}

aio::Task<aio::Result<void>> open_stdin(Input& in) {
  int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) co_return aio::errno_code(errno);
  aio::UniqueFd dup(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) co_return aio::errno_code(errno);
  in.dev = st.st_dev;
  in.ino = st.st_ino;
  in.kind = kind_of(st.st_mode);
  if (in.kind == Kind::Fifo) {
    // A pipe from the shell already has its writer: no false EOF to fear,
    // and no name to reopen, so it ends at its EOF.
    in.kind = Kind::Pipe;
    auto r = aio::FifoReader::adopt(std::move(dup), "", false);
    if (!r) co_return r.error();
    in.fifo.emplace(std::move(*r));
    co_return aio::Result<void>{};
  }
  if (in.kind == Kind::Regular) {
    // `(read line; acat) < file` goes on from where the shell left off.
    off_t at = lseek(fd, 0, SEEK_CUR);
    in.pos = at > 0 ? static_cast<std::uint64_t>(at) : 0;
  }
  in.fd = std::move(dup);
  co_return aio::Result<void>{};
}

} // namespace

aio::Task<aio::Result<void>> open_input(Input& in, bool fifo_follow) {
  in.pos = 0;
  if (in.is_stdin()) co_return co_await open_stdin(in);
  // Peek at the type first: a FIFO must be opened by FifoReader, which
  // knows to wait for a writer before trusting an EOF.
  auto st = stat_path(in.path);
  if (!st) co_return st.error();
  if (S_ISFIFO(st->st_mode)) {
    auto r = co_await aio::FifoReader::open(in.path, fifo_follow);
    if (!r) co_return r.error();
    in.fifo.emplace(std::move(*r));
    in.kind = Kind::Fifo;
    in.dev = st->st_dev;
    in.ino = st->st_ino;
    co_return aio::Result<void>{};
  }
  // O_NONBLOCK: opening a device or a socket must not park the thread; it
  // changes nothing for regular files.
  auto fd = co_await aio::openat(AT_FDCWD, in.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (!fd) co_return fd.error();
  // The type of what was actually opened (the name may have changed since).
  auto fst = stat_fd(fd->get());
  if (!fst) co_return fst.error();
  in.kind = kind_of(fst->st_mode);
  if (in.kind == Kind::Fifo) in.kind = Kind::Other; // a socket: plain polled reads
  in.dev = fst->st_dev;
  in.ino = fst->st_ino;
  in.fd = std::move(*fd);
  co_return aio::Result<void>{};
}

AIO_HOT aio::Task<aio::Result<std::size_t>> read_some(Input& in, std::span<std::byte> buf) {
  if (in.fifo) co_return co_await in.fifo->read(buf);
  if (in.kind == Kind::Regular) {
    if (in.pos >= in.end) co_return std::size_t{0};
    if (in.end - in.pos < buf.size()) buf = buf.first(static_cast<std::size_t>(in.end - in.pos));
    auto r = co_await aio::read(in.fd.get(), buf, in.pos);
    if (r) in.pos += *r;
    co_return r;
  }
  // Devices may be non-blocking (opened O_NONBLOCK): EAGAIN waits for POLLIN.
  co_return co_await aio::read_ready(in.fd.get(), buf);
}

} // namespace acat
