// inotify through the ring: events arrive, a stop ends the wait, and no
// io-wq worker is started (the fd is IN_NONBLOCK and polled first).
#include "support.hpp"

#include "aio/inotify.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/inotify.h>

#include <array>
#include <cstring>
#include <fstream>

TEST_CASE("an append to a watched file arrives as IN_MODIFY, without a worker thread") {
  test::TempDir dir;
  auto path = dir.file("log");
  { std::ofstream(path) << "x"; }
  auto rt = test::make_runtime();
  int threads_before = test::thread_count();
  rt->block_on([&]() -> aio::Task<void> {
    auto ino = aio::Inotify::create();
    REQUIRE(ino.ok());
    auto wd = ino->add_watch(path, IN_MODIFY);
    REQUIRE(wd.ok());
    auto dwd = ino->add_watch(dir.path().string(), IN_CREATE);
    REQUIRE(dwd.ok());
    aio::Scope scope(co_await aio::stop_token());
    // Names point into the watcher's buffer until its next read: keep copies.
    struct Got {
      int wd;
      std::uint32_t mask;
      std::string name;
    };
    std::vector<Got> got;
    scope.spawn([](aio::Inotify& i, std::vector<Got>& out) -> aio::Task<void> {
      while (out.size() < 2) {
        auto evs = co_await i.next();
        REQUIRE(evs.ok());
        for (auto& e : *evs)
          out.push_back({e.wd, e.mask, std::string(e.name)});
      }
    }(*ino, got));
    CHECK((co_await aio::nop()).ok()); // the reader is parked in its poll now
    CHECK(test::thread_count() == threads_before);
    { std::ofstream(path, std::ios::app) << "y"; }
    { std::ofstream(dir.file("new")) << "z"; }
    co_await scope.join();
    REQUIRE(got.size() >= 2);
    CHECK(got[0].wd == *wd);
    CHECK((got[0].mask & IN_MODIFY) != 0);
    bool created = false;
    for (auto& e : got)
      created = created || (e.wd == *dwd && e.name == "new");
    CHECK(created);
    CHECK(test::thread_count() == threads_before);
  }());
}

TEST_CASE("a stop ends a wait for inotify events") {
  auto rt = test::make_runtime();
  auto r = rt->block_on([]() -> aio::Task<aio::Result<void>> {
    auto ino = aio::Inotify::create();
    REQUIRE(ino.ok());
    aio::Result<void> out = aio::errno_code(0);
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](aio::Inotify& i, aio::Result<void>& o) -> aio::Task<void> {
      auto r = co_await i.next();
      if (!r) o = r.error();
    }(*ino, out));
    scope.request_stop();
    co_await scope.join();
    co_return out;
  }());
  CHECK(r.cancelled());
}

TEST_CASE("parse replaces the batch with several packed events, with and without names") {
  alignas(inotify_event) std::byte raw[256] = {};
  std::size_t off = 0;
  auto put = [&](int wd, std::uint32_t mask, const char* name, std::uint32_t len) {
    inotify_event ev{wd, mask, 0, len};
    std::memcpy(raw + off, &ev, sizeof ev);
    if (len > 0) std::memcpy(raw + off + sizeof ev, name, std::strlen(name));
    off += sizeof ev + len;
  };
  put(1, IN_MODIFY, "", 0);
  put(2, IN_CREATE, "abc", 16);
  std::vector<aio::InotifyEvent> evs{{9, 0, 0, "stale"}};
  aio::Inotify::parse(std::span<const std::byte>(raw, off), evs);
  REQUIRE(evs.size() == 2); // what was there before is replaced
  CHECK(evs[0].wd == 1);
  CHECK(evs[0].name.empty());
  CHECK(evs[1].name == "abc");
}

TEST_CASE("a file read linked behind the inotify read brings the append its event announces") {
  test::TempDir dir;
  auto path = dir.file("log");
  { std::ofstream(path) << "old\n"; }
  aio::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  auto rt = test::make_runtime();
  int threads_before = test::thread_count();
  std::string data;
  std::uint32_t mask = 0;
  rt->block_on([&]() -> aio::Task<void> {
    auto ino = aio::Inotify::create();
    REQUIRE(ino.ok());
    REQUIRE(ino->add_watch(path, IN_MODIFY).ok());
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(
        [](aio::Inotify& i, int file, std::string& out, std::uint32_t& m) -> aio::Task<void> {
          std::array<std::byte, 64> buf{};
          // From offset 4, past what was there: unlinked, this read would end
          // at once with 0 bytes.
          auto [ev, n] = co_await aio::Linked{i.read_op(), aio::read(file, buf, 4)};
          REQUIRE(ev.ok());
          REQUIRE(n.ok());
          for (const auto& e : i.take(*ev))
            m |= e.mask;
          out.assign(reinterpret_cast<const char*>(buf.data()), *n);
        }(*ino, fd.get(), data, mask));
    CHECK((co_await aio::nop()).ok()); // the pair is armed
    { std::ofstream(path, std::ios::app) << "new\n"; }
    co_await scope.join();
  }());
  CHECK(data == "new\n");
  CHECK((mask & IN_MODIFY) != 0);
  CHECK(test::thread_count() == threads_before);
}

TEST_CASE("a quiet inotify read brings the file's event and its new bytes in one wait") {
  test::TempDir dir;
  auto path = dir.file("log");
  { std::ofstream(path) << "old\n"; }
  aio::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  auto rt = test::make_runtime();
  std::string data;
  std::vector<std::pair<int, std::uint32_t>> events;
  int wd = -1;
  std::uint64_t waits = 0;
  rt->block_on([&]() -> aio::Task<void> {
    auto ino = aio::Inotify::create();
    REQUIRE(ino.ok());
    auto w = ino->add_watch(path, IN_MODIFY);
    REQUIRE(w.ok());
    wd = *w;
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](aio::Inotify& i, int file, std::string& out,
                   std::vector<std::pair<int, std::uint32_t>>& evs) -> aio::Task<void> {
      std::array<std::byte, 64> buf{};
      auto [ev, n] = co_await aio::Linked{i.quiet_read_op(), aio::read(file, buf, 4)};
      REQUIRE(ev.ok());
      REQUIRE(n.ok());
      for (const auto& e : i.take_quiet())
        evs.emplace_back(e.wd, e.mask);
      out.assign(reinterpret_cast<const char*>(buf.data()), *n);
    }(*ino, fd.get(), data, events));
    CHECK((co_await aio::nop()).ok());
    { std::ofstream(path, std::ios::app) << "new\n"; }
    const std::uint64_t before = rt->stats().waits;
    co_await scope.join();
    waits = rt->stats().waits - before;
  }());
  CHECK(data == "new\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == wd);
  CHECK(events[0].second == IN_MODIFY);
  CHECK(waits == 1);
}

TEST_CASE("an event with a name does not fit a quiet inotify read: EINVAL, and next() reads it") {
  test::TempDir dir;
  aio::UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto rt = test::make_runtime();
  std::vector<std::string> names;
  aio::Result<std::size_t> head = std::size_t{0};
  rt->block_on([&]() -> aio::Task<void> {
    auto ino = aio::Inotify::create();
    REQUIRE(ino.ok());
    REQUIRE(ino->add_watch(dir.path(), IN_CREATE).ok());
    { std::ofstream(dir.file("created")) << ""; }
    std::array<std::byte, 8> buf{};
    auto file = aio::UniqueFd(::open(dir.file("created").c_str(), O_RDONLY | O_CLOEXEC));
    auto [ev, n] = co_await aio::Linked{ino->quiet_read_op(), aio::read(file.get(), buf, 0)};
    head = ev;
    auto batch = co_await ino->next();
    REQUIRE(batch.ok());
    for (const auto& e : *batch)
      names.emplace_back(e.name);
  }());
  REQUIRE_FALSE(head.ok());
  CHECK(head.error() == std::errc::invalid_argument);
  CHECK(names == std::vector<std::string>{"created"});
}

TEST_CASE("a watcher moved while next() is pending still gets its event") {
  test::TempDir dir;
  auto path = dir.file("log");
  { std::ofstream(path) << "x"; }
  auto rt = test::make_runtime();
  std::uint32_t mask = 0;
  rt->block_on([&]() -> aio::Task<void> {
    std::vector<aio::Inotify> watchers;
    auto ino = aio::Inotify::create();
    REQUIRE(ino.ok());
    REQUIRE(ino->add_watch(path, IN_MODIFY).ok());
    watchers.push_back(std::move(*ino));
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](std::vector<aio::Inotify>& ws, std::uint32_t& out) -> aio::Task<void> {
      auto evs = co_await ws[0].next();
      if (evs && !evs->empty()) out = evs->front().mask;
    }(watchers, mask));
    for (int i = 0; i < 16; ++i) { // grow: every watcher moves
      auto more = aio::Inotify::create();
      REQUIRE(more.ok());
      watchers.push_back(std::move(*more));
    }
    std::ofstream(path, std::ios::app) << "y";
    co_await scope.join();
  }());
  CHECK((mask & IN_MODIFY) != 0);
}
