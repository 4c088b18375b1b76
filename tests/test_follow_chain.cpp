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

#include <chrono>
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

// A FollowChain over a Follow, awaited by a task of its own, and what that
// task and stdout's reader saw.
struct ChainRun : Follow {
  std::unique_ptr<aio::Runtime> rt = test::make_runtime();
  acat::FollowChain chain{setup()};
  Awaited a;
  std::string got; // read from stdout

  using Follow::Follow;

  // Runs `body(scope)` beside the task awaiting the chain; it joins the scope.
  template <class Body> void run(Body body) {
    rt->block_on([&]() -> aio::Task<void> {
      aio::Scope scope(co_await aio::stop_token());
      scope.spawn(await_chain(chain, a));
      co_await body(scope);
    }());
  }

  // Reads stdout until `got` holds `size` bytes.
  aio::Task<void> read_until(std::size_t size) {
    std::vector<std::byte> b(8192);
    while (got.size() < size) {
      auto r = co_await aio::read(out_rd.get(), b);
      REQUIRE(r.ok());
      REQUIRE(*r > 0);
      got.append(reinterpret_cast<const char*>(b.data()), *r);
    }
  }
};

} // namespace

TEST_CASE("plain appends are written turn after turn without resuming the awaiting task") {
  ChainRun c;
  c.run([&](aio::Scope& scope) -> aio::Task<void> {
    std::string sent;
    for (const char* line : {"one\n", "two\n", "three\n"}) {
      c.append(line);
      sent += line;
      co_await c.read_until(sent.size());
      CHECK(c.a.resumed == 0);
    }
    scope.request_stop(); // the chain waits for the next event now
    co_await scope.join();
  });
  CHECK(c.got == "one\ntwo\nthree\n");
  CHECK(c.a.resumed == 1);
  CHECK(c.a.outcome.event.cancelled());
  CHECK(c.chain.turns() == 3);
  CHECK(c.pos == c.got.size());
  CHECK(c.rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}

TEST_CASE("a truncated file ends the chain with a read of nothing, after the bytes before it") {
  ChainRun c;
  c.run([&](aio::Scope& scope) -> aio::Task<void> {
    c.append("abc\n");
    co_await c.read_until(4);
    REQUIRE(::truncate(c.path.c_str(), 0) == 0);
    co_await scope.join();
  });
  CHECK(c.got == "abc\n");
  CHECK(c.a.resumed == 1);
  REQUIRE(c.a.outcome.event.ok());
  REQUIRE(c.a.outcome.read.ok());
  CHECK(*c.a.outcome.read == 0);
  // The caller sees the file shorter than `pos` and starts over.
  CHECK(c.pos == 4);
  CHECK(c.chain.turns() == 1);
}

TEST_CASE("a read that fills the buffer ends the chain once its bytes are written") {
  ChainRun c(16);
  c.run([&](aio::Scope& scope) -> aio::Task<void> {
    c.append(std::string(40, 'x'));
    co_await scope.join();
    co_await c.read_until(16);
  });
  CHECK(c.got == std::string(16, 'x'));
  REQUIRE(c.a.outcome.read.ok());
  CHECK(*c.a.outcome.read == 16);
  REQUIRE(c.a.outcome.write.ok());
  CHECK(*c.a.outcome.write == 16);
  // The rest is the caller's to read.
  CHECK(c.pos == 16);
}

TEST_CASE("an event with a name ends the chain with EINVAL and stays queued") {
  ChainRun c;
  REQUIRE(c.ino.add_watch(c.dir.path().string(), IN_CREATE).ok());
  std::vector<std::string> names;
  c.run([&](aio::Scope& scope) -> aio::Task<void> {
    { std::ofstream(c.dir.file("rotated")) << ""; }
    co_await scope.join();
    auto evs = co_await c.ino.next();
    REQUIRE(evs.ok());
    for (const auto& e : *evs)
      names.emplace_back(e.name);
  });
  REQUIRE(!c.a.outcome.event.ok());
  CHECK(c.a.outcome.event.error() == std::errc::invalid_argument);
  CHECK(c.a.outcome.read.ok());
  CHECK(c.chain.turns() == 0);
  CHECK(names == std::vector<std::string>{"rotated"});
}

TEST_CASE("a closed reader of stdout ends the chain with EPIPE") {
  signal(SIGPIPE, SIG_IGN);
  ChainRun c;
  c.out_rd.reset();
  c.run([&](aio::Scope& scope) -> aio::Task<void> {
    c.append("lost\n");
    co_await scope.join();
  });
  signal(SIGPIPE, SIG_DFL);
  REQUIRE(!c.a.outcome.write.ok());
  CHECK(c.a.outcome.write.error() == std::errc::broken_pipe);
  CHECK(c.chain.turns() == 0);
  CHECK(c.rt->inflight() == 0);
}

TEST_CASE("a write the pipe takes in parts is finished before the next turn") {
  ChainRun c;
  // One page of pipe: a 20,000-byte write goes in as the reader makes room.
  REQUIRE(::fcntl(c.out_wr.get(), F_SETPIPE_SZ, 4096) == 4096);
  const std::string big(20000, 'b');
  c.run([&](aio::Scope& scope) -> aio::Task<void> {
    c.append(big);
    co_await c.read_until(big.size());
    c.append("next\n");
    co_await c.read_until(big.size() + 5);
    scope.request_stop();
    co_await scope.join();
  });
  CHECK(c.got == big + "next\n");
  CHECK(c.chain.turns() == 2);
  CHECK(c.chain.writes() > 2);
  CHECK(c.pos == c.got.size());
}

TEST_CASE("a chain awaited after a stop submits nothing and ends at once") {
  ChainRun c;
  c.rt->block_on([&]() -> aio::Task<void> {
    c.rt->request_stop();
    co_await await_chain(c.chain, c.a);
  }());
  CHECK(c.a.resumed == 1);
  CHECK(c.a.outcome.event.cancelled());
  CHECK(c.a.outcome.read.cancelled());
  CHECK(c.rt->stats().submitted == 0);
}

TEST_CASE("a stop while the write waits for room in stdout cancels the write") {
  ChainRun c;
  REQUIRE(::fcntl(c.out_wr.get(), F_SETPIPE_SZ, 4096) == 4096);
  c.run([&](aio::Scope& scope) -> aio::Task<void> {
    c.append(std::string(20000, 'w')); // no one reads: the write stays in the kernel
    while (c.chain.writes() < 2)
      co_await aio::sleep_for(std::chrono::milliseconds(1));
    scope.request_stop();
    co_await scope.join();
  });
  CHECK(c.a.resumed == 1);
  CHECK(c.a.outcome.write.cancelled());
  CHECK(c.chain.turns() == 0);
  CHECK(c.rt->inflight() == 0);
  CHECK(test::thread_count() == 1);
}
