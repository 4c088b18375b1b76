// The readiness backend (EpollBackend) keeps the runtime's contract: every
// operation ends once, a cancelled wait is gone from epoll, a blocking pipe
// never blocks the loop, fds are closed only when no operation uses them.
// Each case forces it (AIO_BACKEND=epoll), whatever the host has.
#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Sets AIO_BACKEND for the scope of one case.
struct BackendEnv {
  explicit BackendEnv(const char* v) {
    if (const char* old = std::getenv("AIO_BACKEND")) saved = old;
    setenv("AIO_BACKEND", v, 1);
  }
  ~BackendEnv() {
    if (saved.empty())
      unsetenv("AIO_BACKEND");
    else
      setenv("AIO_BACKEND", saved.c_str(), 1);
  }
  std::string saved;
};

std::unique_ptr<aio::Runtime> epoll_runtime() {
  BackendEnv env("epoll");
  auto rt = test::make_runtime();
  REQUIRE(rt->backend() == aio::BackendKind::Epoll);
  REQUIRE(rt->epoll() != nullptr);
  return rt;
}

aio::Task<aio::Result<void>> timer(std::chrono::nanoseconds d) {
  co_return co_await aio::sleep_for(d);
}

} // namespace

TEST_CASE("AIO_BACKEND=epoll forces the readiness backend and names it; a bad value is refused") {
  {
    BackendEnv env("epoll");
    auto k = aio::choose_backend();
    REQUIRE(k.ok());
    CHECK(*k == aio::BackendKind::Epoll);
    auto rt = test::make_runtime();
    CHECK(std::string(rt->backend_name()) == "epoll");
  }
  {
    BackendEnv env("kqueue");
    std::string why;
    CHECK(!aio::choose_backend(aio::default_runtime_options(), &why).ok());
    CHECK(why == "AIO_BACKEND must be 'uring' or 'epoll'");
    CHECK(!aio::Runtime::create(aio::default_runtime_options(), &why).ok());
  }
}

TEST_CASE("every kind of operation completes exactly once on the readiness backend") {
  test::TempDir dir;
  test::ConnectedFifo fifo;
  auto rt = epoll_runtime();
  int ends = 0;
  std::string got;
  rt->block_on([&]() -> aio::Task<void> {
    auto n = co_await aio::nop();
    ends += n.ok();
    auto f =
        co_await aio::openat(AT_FDCWD, dir.file("a").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    REQUIRE(f.ok());
    auto w = co_await aio::write_all(f->get(), test::bytes("file bytes"), 0);
    ends += w.ok() && *w == 10;
    std::array<std::byte, 32> buf{};
    auto r = co_await aio::read(f->get(), buf, 0);
    ends += r.ok() && *r == 10;
    auto st = co_await aio::statx(AT_FDCWD, dir.file("a").c_str());
    ends += st.ok() && st->stx_size == 10;
    ends += (co_await aio::fsync(f->get())).ok();
    ends += (co_await aio::close(std::move(*f))).ok();
    ends += (co_await aio::sleep_for(1ms)).ok();
    // A FIFO read waits in epoll until the write that follows it.
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd, std::string& out, int& e) -> aio::Task<void> {
      std::array<std::byte, 16> b{};
      auto p = co_await aio::poll(fd, POLLIN);
      e += p.ok() && (*p & POLLIN) != 0;
      auto x = co_await aio::read(fd, b);
      if (x) out.assign(reinterpret_cast<const char*>(b.data()), *x);
      e += x.ok();
    }(fifo.rd.get(), got, ends));
    (void)co_await aio::nop();
    ends += (co_await aio::write(fifo.wr.get(), test::bytes("fifo"))).ok();
    co_await scope.join();
  }());
  CHECK(ends == 10);
  CHECK(got == "fifo");
  CHECK(rt->stats().completed == rt->stats().submitted);
  CHECK(rt->inflight() == 0);
  CHECK(rt->epoll()->registered_fds() == 0);
  CHECK(rt->epoll()->waiting() == 0);
}

TEST_CASE("a cancelled FIFO read is gone: no epoll interest, its buffer untouched, the bytes kept "
          "for the next reader") {
  test::ConnectedFifo fifo;
  auto rt = epoll_runtime();
  std::array<std::byte, 16> buf;
  buf.fill(std::byte{'#'});
  std::size_t registered_while_waiting = 0;
  rt->block_on([&]() -> aio::Task<void> {
    auto r = co_await aio::race(
        [](int fd, std::span<std::byte> b) -> aio::Task<aio::Result<std::size_t>> {
          co_return co_await aio::read(fd, b);
        }(fifo.rd.get(), buf),
        [](aio::Runtime& rt, std::size_t& seen) -> aio::Task<aio::Result<void>> {
          (void)co_await aio::nop();
          seen = rt.epoll()->registered_fds();
          co_return co_await aio::sleep_for(1ms);
        }(*rt, registered_while_waiting));
    CHECK(r.winner == 1);
    CHECK(r.first.cancelled()); // the loser was awaited and ended cancelled
  }());
  CHECK(registered_while_waiting == 1);
  CHECK(rt->epoll()->registered_fds() == 0);
  CHECK(rt->epoll()->waiting() == 0);
  CHECK(rt->inflight() == 0);
  REQUIRE(::write(fifo.wr.get(), "after", 5) == 5);
  rt->block_on([]() -> aio::Task<void> { co_return; }());
  for (auto b : buf)
    CHECK(b == std::byte{'#'}); // nothing was read for the cancelled read
  char next[16] = {};
  CHECK(::read(fifo.rd.get(), next, sizeof next) == 5);
  CHECK(std::string(next) == "after");
}

TEST_CASE("a blocking pipe never blocks the loop: reads wait in epoll, writes fit the pipe") {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0); // blocking, as an inherited stdin or stdout
  aio::UniqueFd rd(p[0]), wr(p[1]);
  auto rt = epoll_runtime();
  bool read_cancelled = false;
  std::size_t wrote = 0, read_total = 0;
  std::vector<std::byte> out(1 << 20, std::byte{'x'});
  rt->block_on([&]() -> aio::Task<void> {
    // Nothing in the pipe: the read must not be issued (it would block).
    std::array<std::byte, 64> b{};
    auto r = co_await aio::with_timeout(
        [](int fd, std::span<std::byte> s) -> aio::Task<aio::Result<std::size_t>> {
          co_return co_await aio::read(fd, s);
        }(rd.get(), b),
        5ms);
    read_cancelled = r.timed_out && r.value.cancelled();
    // 1 MiB through a 64 KiB pipe, writer and reader on the one thread:
    // a write longer than the room would block the loop for good.
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd, std::span<const std::byte> s, std::size_t& n) -> aio::Task<void> {
      auto w = co_await aio::write_all(fd, s);
      if (w) n = *w;
    }(wr.get(), out, wrote));
    scope.spawn([](int fd, std::size_t want, std::size_t& n) -> aio::Task<void> {
      std::vector<std::byte> in(128 * 1024);
      while (n < want) {
        auto x = co_await aio::read(fd, in);
        if (!x || *x == 0) break;
        n += *x;
      }
    }(rd.get(), out.size(), read_total));
    co_await scope.join();
  }());
  CHECK(read_cancelled);
  CHECK(wrote == out.size());
  CHECK(read_total == out.size());
  CHECK(test::thread_count() == 1);
  CHECK(rt->epoll()->registered_fds() == 0);
}

TEST_CASE("timers end in deadline order, each once, and a cancelled one ends cancelled") {
  auto rt = epoll_runtime();
  std::vector<int> order;
  bool cancelled = false;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    for (int ms : {30, 10, 20})
      scope.spawn([](int ms, std::vector<int>& o) -> aio::Task<void> {
        if ((co_await aio::sleep_for(std::chrono::milliseconds(ms))).ok()) o.push_back(ms);
      }(ms, order));
    auto t = co_await aio::with_timeout(timer(1h), 1ms);
    cancelled = t.timed_out && t.value.cancelled();
    co_await scope.join();
  }());
  CHECK(order == std::vector<int>{10, 20, 30});
  CHECK(cancelled);
  CHECK(rt->epoll()->waiting() == 0);
}

TEST_CASE("a FIFO closed by its owner under a pending read stays open until the read ends") {
  test::ConnectedFifo fifo;
  auto rt = epoll_runtime();
  const int number = fifo.rd.get();
  bool open_while_pending = false, cancelled = false;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd, bool& c) -> aio::Task<void> {
      std::array<std::byte, 8> b{};
      c = (co_await aio::read(fd, b)).cancelled();
    }(number, cancelled));
    (void)co_await aio::nop();
    fifo.rd.reset(); // deferred: the read still names the fd
    open_while_pending = ::fcntl(number, F_GETFD) >= 0;
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(open_while_pending);
  CHECK(cancelled);
  CHECK(::fcntl(number, F_GETFD) == -1); // closed once the read was over
  CHECK(rt->epoll()->registered_fds() == 0);
}

TEST_CASE("cancel_fd on the readiness backend cancels every read waiting on the fd") {
  test::ConnectedFifo fifo;
  auto rt = epoll_runtime();
  int cancelled = 0;
  std::size_t found = 0;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    for (int i = 0; i < 3; ++i)
      scope.spawn([](int fd, int& c) -> aio::Task<void> {
        std::array<std::byte, 8> b{};
        c += (co_await aio::read(fd, b)).cancelled();
      }(fifo.rd.get(), cancelled));
    (void)co_await aio::nop();
    auto n = co_await aio::cancel_fd(fifo.rd.get());
    if (n) found = *n;
    co_await scope.join();
  }());
  CHECK(found == 3);
  CHECK(cancelled == 3);
  CHECK(rt->epoll()->registered_fds() == 0);
}

namespace {

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

} // namespace

TEST_CASE("a registration kept between waits never fires again: unread data leaves the loop "
          "asleep") {
  // The registration an fd keeps after its read (EPOLLONESHOT, disarmed)
  // must not report the bytes that nobody waits for now: a level-triggered
  // one would wake the loop on every epoll_wait, a spin at 100% CPU.
  test::ConnectedFifo fifo;
  auto rt = epoll_runtime();
  double cpu_ms = -1;
  rt->block_on([&]() -> aio::Task<void> {
    std::array<std::byte, 4> b{};
    REQUIRE(::write(fifo.wr.get(), "12345678", 8) == 8);
    auto first = co_await aio::read(fifo.rd.get(), b); // 4 of 8 bytes
    REQUIRE(first.ok());
    const double before = thread_cpu_ms();
    (void)co_await aio::sleep_for(200ms);
    cpu_ms = thread_cpu_ms() - before;
    auto second = co_await aio::read(fifo.rd.get(), b); // still there
    CHECK(second.ok());
    CHECK(std::string(reinterpret_cast<const char*>(b.data()), 4) == "5678");
  }());
  // Asleep for 200 ms: a spin would have spent about all of it on CPU.
  CHECK(cpu_ms < 50);
  CHECK(rt->epoll()->registered_fds() == 0);
}

TEST_CASE("an fd number closed behind the backend's back and reused is waited on afresh") {
  // The kept registration names the old pipe; re-arming the number must
  // fall back to registering the new one (epoll says ENOENT), or the read
  // of the new pipe would fail or never end.
  test::ConnectedFifo old_fifo;
  auto rt = epoll_runtime();
  const int number = old_fifo.rd.get();
  std::string got;
  rt->block_on([&]() -> aio::Task<void> {
    std::array<std::byte, 8> b{};
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](int fd) -> aio::Task<void> {
      std::array<std::byte, 8> bb{};
      (void)co_await aio::read(fd, bb); // waits in epoll, then reads "old"
    }(number));
    (void)co_await aio::nop();
    REQUIRE(::write(old_fifo.wr.get(), "old", 3) == 3);
    co_await scope.join();
    // Replace the number with a new pipe's read end, not through the runtime.
    int p[2];
    REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    REQUIRE(::dup3(p[0], number, O_CLOEXEC) == number);
    ::close(p[0]);
    scope.spawn([](int fd, std::array<std::byte, 8>& buf, std::string& g) -> aio::Task<void> {
      auto r = co_await aio::read(fd, buf);
      if (r) g.assign(reinterpret_cast<const char*>(buf.data()), *r);
    }(number, b, got));
    (void)co_await aio::nop();
    REQUIRE(::write(p[1], "new", 3) == 3);
    co_await scope.join();
    ::close(p[1]);
  }());
  CHECK(got == "new");
  CHECK(rt->epoll()->waiting() == 0);
}

TEST_CASE("writes land whatever RWF_NOWAIT says of the fd: a file, /dev/null, a blocking pipe, "
          "each written twice") {
  // A write is first tried with RWF_NOWAIT; an fd that refuses the flag
  // (ext4's buffered writes) is noted and written the ordinary way.
  test::TempDir dir;
  aio::UniqueFd file(::open(dir.file("out").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  aio::UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0); // blocking, as an inherited stdout
  aio::UniqueFd rd(p[0]), wr(p[1]);
  REQUIRE(file.valid());
  REQUIRE(null.valid());
  auto rt = epoll_runtime();
  std::vector<int> results;
  rt->block_on([&]() -> aio::Task<void> {
    for (int i = 0; i < 2; ++i) {
      const std::string part = i == 0 ? "first," : "second";
      auto f =
          co_await aio::write(file.get(), test::bytes(part), static_cast<std::uint64_t>(6 * i));
      auto n = co_await aio::write(null.get(), test::bytes(part));
      auto w = co_await aio::write(wr.get(), test::bytes(part));
      for (const auto& r : {f, n, w})
        results.push_back(r ? static_cast<int>(*r) : -r.error().value());
    }
  }());
  CHECK(results == std::vector<int>{6, 6, 6, 6, 6, 6});
  char got[32] = {};
  CHECK(::pread(file.get(), got, sizeof got, 0) == 12);
  CHECK(std::string(got) == "first,second");
  char piped[32] = {};
  CHECK(::read(rd.get(), piped, sizeof piped) == 12);
  CHECK(std::string(piped) == "first,second");
  CHECK(test::thread_count() == 1);
  CHECK(rt->epoll()->waiting() == 0);
}
