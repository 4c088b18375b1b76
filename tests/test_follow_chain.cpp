// FollowChain: acat -f's one-file turns run as completions. Plain appends
// go from the file to stdout turn after turn without the awaiting task;
// everything else ends the chain with what the task needs to carry on.
#include "support.hpp"

#include "follow_chain.hpp"

#include "aio/inotify.hpp"
#include "aio/scope.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

namespace {

// A followed file, its watch, and a pipe standing for stdout.
struct Follow {
  test::TempDir dir;
  std::string path = dir.file("log");
  aio::UniqueFd file;
  aio::Inotify ino = aio::Inotify::create().value();
  int wd = -1;
  aio::UniqueFd out_rd, out_wr;
  std::vector<std::byte> buf;
  std::uint64_t pos = 0;

  explicit Follow(std::size_t buf_size = 64 * 1024) : buf(buf_size) {
    { std::ofstream(path) << ""; }
    file = aio::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    wd = *ino.add_watch(path, IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    out_rd = aio::UniqueFd(p[0]);
    out_wr = aio::UniqueFd(p[1]);
  }
  acat::FollowChain::Setup setup() {
    return {ino.fd(), ino.quiet_buffer(), wd, file.get(), buf, out_wr.get(), pos};
  }
  void append(const std::string& s) const { std::ofstream(path, std::ios::app) << s; }
};

struct Awaited {
  acat::FollowChain::Outcome outcome{std::size_t{0}, std::size_t{0}, std::size_t{0}};
  int resumed = 0;
};

aio::Task<void> await_chain(acat::FollowChain& chain, Awaited& a) {
  a.outcome = co_await chain;
  ++a.resumed;
}

// Reads the pipe until `got` holds `size` bytes.
aio::Task<void> read_until(int fd, std::string& got, std::size_t size) {
  std::vector<std::byte> b(8192);
  while (got.size() < size) {
    auto r = co_await aio::read(fd, b);
    REQUIRE(r.ok());
    REQUIRE(*r > 0);
    got.append(reinterpret_cast<const char*>(b.data()), *r);
  }
}

} // namespace

TEST_CASE("plain appends are written turn after turn without resuming the awaiting task") {
  Follow f;
  auto rt = test::make_runtime();
  acat::FollowChain chain(f.setup());
  Awaited a;
  std::string got;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(await_chain(chain, a));
    std::string sent;
    for (const char* line : {"one\n", "two\n", "three\n"}) {
      f.append(line);
      sent += line;
      co_await read_until(f.out_rd.get(), got, sent.size());
      CHECK(a.resumed == 0);
    }
    scope.request_stop(); // the chain waits for the next event now
    co_await scope.join();
  }());
  CHECK(got == "one\ntwo\nthree\n");
  CHECK(a.resumed == 1);
  CHECK(a.outcome.event.cancelled());
  CHECK(chain.turns() == 3);
  CHECK(f.pos == got.size());
  CHECK(rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}

TEST_CASE("a truncated file ends the chain with a read of nothing, after the bytes before it") {
  Follow f;
  auto rt = test::make_runtime();
  acat::FollowChain chain(f.setup());
  Awaited a;
  std::string got;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(await_chain(chain, a));
    f.append("abc\n");
    co_await read_until(f.out_rd.get(), got, 4);
    REQUIRE(::truncate(f.path.c_str(), 0) == 0);
    co_await scope.join();
  }());
  CHECK(got == "abc\n");
  CHECK(a.resumed == 1);
  REQUIRE(a.outcome.event.ok());
  REQUIRE(a.outcome.read.ok());
  CHECK(*a.outcome.read == 0);
  // The caller sees the file shorter than `pos` and starts over.
  CHECK(f.pos == 4);
  CHECK(chain.turns() == 1);
}

TEST_CASE("a read that fills the buffer ends the chain once its bytes are written") {
  Follow f(16);
  auto rt = test::make_runtime();
  acat::FollowChain chain(f.setup());
  Awaited a;
  std::string got;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(await_chain(chain, a));
    f.append(std::string(40, 'x'));
    co_await scope.join();
    co_await read_until(f.out_rd.get(), got, 16);
  }());
  CHECK(got == std::string(16, 'x'));
  REQUIRE(a.outcome.read.ok());
  CHECK(*a.outcome.read == 16);
  REQUIRE(a.outcome.write.ok());
  CHECK(*a.outcome.write == 16);
  // The rest is the caller's to read.
  CHECK(f.pos == 16);
}

TEST_CASE("an event with a name ends the chain with EINVAL and stays queued") {
  Follow f;
  auto dwd = f.ino.add_watch(f.dir.path().string(), IN_CREATE);
  REQUIRE(dwd.ok());
  auto rt = test::make_runtime();
  acat::FollowChain chain(f.setup());
  Awaited a;
  std::vector<std::string> names;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(await_chain(chain, a));
    { std::ofstream(f.dir.file("rotated")) << ""; }
    co_await scope.join();
    auto evs = co_await f.ino.next();
    REQUIRE(evs.ok());
    for (const auto& e : *evs)
      names.emplace_back(e.name);
  }());
  REQUIRE(!a.outcome.event.ok());
  CHECK(a.outcome.event.error() == std::errc::invalid_argument);
  CHECK(a.outcome.read.ok());
  CHECK(chain.turns() == 0);
  CHECK(names == std::vector<std::string>{"rotated"});
}

TEST_CASE("a closed reader of stdout ends the chain with EPIPE") {
  signal(SIGPIPE, SIG_IGN);
  Follow f;
  f.out_rd.reset();
  auto rt = test::make_runtime();
  acat::FollowChain chain(f.setup());
  Awaited a;
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(await_chain(chain, a));
    f.append("lost\n");
    co_await scope.join();
  }());
  signal(SIGPIPE, SIG_DFL);
  REQUIRE(!a.outcome.write.ok());
  CHECK(a.outcome.write.error() == std::errc::broken_pipe);
  CHECK(chain.turns() == 0);
  CHECK(rt->inflight() == 0);
}

TEST_CASE("a write the pipe takes in parts is finished before the next turn") {
  Follow f;
  // One page of pipe: a 20,000-byte write goes in as the reader makes room.
  REQUIRE(::fcntl(f.out_wr.get(), F_SETPIPE_SZ, 4096) == 4096);
  auto rt = test::make_runtime();
  acat::FollowChain chain(f.setup());
  Awaited a;
  std::string got;
  std::string big(20000, 'b');
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(await_chain(chain, a));
    f.append(big);
    co_await read_until(f.out_rd.get(), got, big.size());
    f.append("next\n");
    co_await read_until(f.out_rd.get(), got, big.size() + 5);
    scope.request_stop();
    co_await scope.join();
  }());
  CHECK(got == big + "next\n");
  CHECK(chain.turns() == 2);
  CHECK(chain.writes() > 2);
  CHECK(f.pos == got.size());
}

TEST_CASE("a chain awaited after a stop submits nothing and ends at once") {
  Follow f;
  auto rt = test::make_runtime();
  acat::FollowChain chain(f.setup());
  Awaited a;
  rt->block_on([&]() -> aio::Task<void> {
    rt->request_stop();
    co_await await_chain(chain, a);
  }());
  CHECK(a.resumed == 1);
  CHECK(a.outcome.event.cancelled());
  CHECK(a.outcome.read.cancelled());
  CHECK(rt->stats().submitted == 0);
}
