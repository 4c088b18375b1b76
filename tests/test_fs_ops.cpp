// The file-system operations acp stands on, against the real kernel: what
// each leaves on disk, its errors, and the fds it holds.
#include "support.hpp"

#include "aio/fs_ops.hpp"

#include <doctest/doctest.h>
#include <sys/xattr.h>

#include <cstring>
#include <set>

namespace {
std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}
bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}
} // namespace

TEST_CASE("the kernel has every opcode the fs operations need") {
  auto rt = test::make_runtime();
  rt->block_on([]() -> aio::Task<void> {
    CHECK(aio::fs_ops_missing().empty());
    co_return;
  }());
}

TEST_CASE("mkdirat creates a directory with the mode asked and EEXIST the second time") {
  test::TempDir dir;
  auto rt = test::make_runtime();
  aio::UniqueFd d(::open(dir.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  rt->block_on([&]() -> aio::Task<void> {
    CHECK((co_await aio::mkdirat(d.get(), "sub", 0750)).ok());
    auto again = co_await aio::mkdirat(d.get(), "sub", 0750);
    CHECK(again.error() == std::errc::file_exists);
  }());
  struct stat st {};
  REQUIRE(::stat(dir.file("sub").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == (0750 & ~umask(umask(0))));
}

TEST_CASE("renameat with RENAME_NOREPLACE refuses an existing name and keeps both files") {
  test::TempDir dir;
  spit(dir.file("a"), "A");
  spit(dir.file("b"), "B");
  auto rt = test::make_runtime();
  aio::UniqueFd d(::open(dir.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  rt->block_on([&]() -> aio::Task<void> {
    auto r = co_await aio::renameat(d.get(), "a", d.get(), "b", RENAME_NOREPLACE);
    CHECK(r.error() == std::errc::file_exists);
    CHECK((co_await aio::renameat(d.get(), "a", d.get(), "c", RENAME_NOREPLACE)).ok());
  }());
  CHECK_FALSE(exists(dir.file("a")));
  CHECK(slurp(dir.file("b")) == "B");
  CHECK(slurp(dir.file("c")) == "A");
}

TEST_CASE("an O_TMPFILE file appears under its name only when linkat links it") {
  test::TempDir dir;
  auto rt = test::make_runtime();
  aio::UniqueFd d(::open(dir.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  rt->block_on([&]() -> aio::Task<void> {
    auto f = co_await aio::openat(d.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    REQUIRE(f.ok());
    std::string text = "whole";
    REQUIRE((co_await aio::write_all(f->get(), test::bytes(text), 0)).ok());
    CHECK(test::count_entries(dir.path().c_str()) == 0);
    CHECK((co_await aio::linkat(f->get(), "", d.get(), "final", AT_EMPTY_PATH)).ok());
    auto again = co_await aio::linkat(f->get(), "", d.get(), "final", AT_EMPTY_PATH);
    CHECK(again.error() == std::errc::file_exists);
  }());
  CHECK(slurp(dir.file("final")) == "whole");
  CHECK(test::count_entries(dir.path().c_str()) == 1);
}

TEST_CASE("symlinkat, read_link and unlinkat of a file and of a directory") {
  test::TempDir dir;
  auto rt = test::make_runtime();
  aio::UniqueFd d(::open(dir.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  rt->block_on([&]() -> aio::Task<void> {
    CHECK((co_await aio::symlinkat("../nowhere", d.get(), "ln")).ok());
    auto t = aio::read_link(d.get(), "ln");
    REQUIRE(t.ok());
    CHECK(*t == "../nowhere");
    CHECK((co_await aio::unlinkat(d.get(), "ln")).ok());
    CHECK((co_await aio::mkdirat(d.get(), "sub", 0700)).ok());
    auto wrong = co_await aio::unlinkat(d.get(), "sub");
    CHECK(wrong.error() == std::errc::is_a_directory);
    CHECK((co_await aio::unlinkat(d.get(), "sub", AT_REMOVEDIR)).ok());
  }());
  CHECK(test::count_entries(dir.path().c_str()) == 0);
}

TEST_CASE("fallocate reserves the size and copy_range copies chunks to the end") {
  test::TempDir dir;
  std::string text(300000, 'x');
  for (std::size_t i = 0; i < text.size(); ++i)
    text[i] = static_cast<char>('a' + i % 26);
  spit(dir.file("src"), text);
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    aio::UniqueFd in(::open(dir.file("src").c_str(), O_RDONLY | O_CLOEXEC));
    aio::UniqueFd out(::open(dir.file("dst").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    CHECK((co_await aio::fallocate(out.get(), 0, 0, text.size())).ok());
    struct stat st {};
    ::fstat(out.get(), &st);
    CHECK(static_cast<std::size_t>(st.st_size) == text.size());
    std::uint64_t off = 0;
    for (;;) {
      auto n = aio::copy_range(in.get(), off, out.get(), off, 65536);
      REQUIRE(n.ok());
      if (*n == 0) break;
      CHECK(*n <= 65536);
      off += *n;
    }
    CHECK(off == text.size());
  }());
  CHECK(slurp(dir.file("dst")) == text);
}

TEST_CASE("fsetxattr and fgetxattr round trip a user attribute; list_xattrs names it") {
  test::TempDir dir;
  spit(dir.file("f"), "");
  aio::UniqueFd f(::open(dir.file("f").c_str(), O_RDWR | O_CLOEXEC));
  if (::fsetxattr(f.get(), "user.probe", "x", 1, 0) != 0) {
    MESSAGE("skipped: no user xattrs on " << dir.path());
    return;
  }
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    std::string v = "value\0with nul";
    v.resize(14);
    CHECK((co_await aio::fsetxattr(f.get(), "user.k", test::bytes(v))).ok());
    std::array<std::byte, 64> buf{};
    auto n = co_await aio::fgetxattr(f.get(), "user.k", buf);
    REQUIRE(n.ok());
    CHECK(std::string(reinterpret_cast<char*>(buf.data()), *n) == v);
    auto missing = co_await aio::fgetxattr(f.get(), "user.none", buf);
    CHECK(missing.error().value() == ENODATA);
  }());
  auto names = aio::list_xattrs(f.get());
  REQUIRE(names.ok());
  std::set<std::string> got(names->begin(), names->end());
  CHECK(got.count("user.k") == 1);
  auto v = aio::get_xattr(f.get(), "user.k");
  REQUIRE(v.ok());
  CHECK(v->size() == 14);
}

TEST_CASE("DirReader lists every entry once, without . and .., across small batches") {
  test::TempDir dir;
  std::set<std::string> want;
  for (int i = 0; i < 300; ++i) {
    std::string name = "entry with a long name number " + std::to_string(i);
    spit(dir.file(name), "");
    want.insert(name);
  }
  aio::UniqueFd d(::open(dir.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  aio::DirReader reader(d.get(), 1024); // many getdents64 calls
  std::set<std::string> got;
  aio::DirReader::Entry e{};
  int n = 0;
  while (reader.next(e)) {
    got.insert(e.name);
    CHECK(e.type == DT_REG);
    ++n;
  }
  CHECK_FALSE(reader.error());
  CHECK(n == 300);
  CHECK(got == want);
}

TEST_CASE("set_mode, set_owner and set_times change what stat shows, to the nanosecond") {
  test::TempDir dir;
  spit(dir.file("f"), "");
  aio::UniqueFd f(::open(dir.file("f").c_str(), O_RDWR | O_CLOEXEC));
  int d = ::open(dir.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  aio::UniqueFd dfd(d);
  // Owner before mode: a chown clears the setgid bit.
  CHECK(aio::set_owner(d, "f", ::getuid(), ::getgid(), AT_SYMLINK_NOFOLLOW).ok());
  CHECK(aio::set_mode(f.get(), 02751).ok());
  struct statx_timestamp at {
    1000000000, 123456789, 0
  }, mt{1100000000, 987654321, 0};
  CHECK(aio::set_times(d, "f", at, mt, 0).ok());
  struct stat st {};
  REQUIRE(::stat(dir.file("f").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 02751);
  CHECK(st.st_atim.tv_sec == 1000000000);
  CHECK(st.st_atim.tv_nsec == 123456789);
  CHECK(st.st_mtim.tv_sec == 1100000000);
  CHECK(st.st_mtim.tv_nsec == 987654321);
}

TEST_CASE("a directory fd closed under a pending mkdirat is not reused before it completes") {
  // The op names the directory fd, so the runtime holds it: the close
  // waits, and the directory is made where it was asked.
  test::TempDir dir;
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    aio::UniqueFd d(::open(dir.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    int raw = d.get();
    auto op = aio::mkdirat(raw, "held", 0700);
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn([](decltype(op)& o) -> aio::Task<void> { (void)co_await o; }(op));
    d.reset(); // closed while the mkdirat may be in flight
    co_await scope.join();
  }());
  CHECK(exists(dir.file("held")));
}

namespace {
// Closes `held` while `start` (an operation naming it) is pending, opens
// another directory at once (which would get the same number were it not
// held), and says whether that number was reused.
template <class Start>
bool reused_under(aio::Runtime& rt, aio::UniqueFd& held, const std::string& other, Start start) {
  int number = held.get();
  int got = -1;
  rt.block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(start());
    held.reset();
    aio::UniqueFd c(::open(other.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    got = c.get();
    co_await scope.join();
  }());
  return got == number;
}
} // namespace

TEST_CASE("a renameat whose source directory fd is closed meanwhile moves from that directory") {
  test::TempDir top;
  for (const char* d : {"A", "B", "C"})
    std::filesystem::create_directory(top.path() / d);
  spit(top.file("A/f"), "from A");
  spit(top.file("C/f"), "from C");
  auto rt = test::make_runtime();
  aio::UniqueFd a(::open(top.file("A").c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  aio::UniqueFd b(::open(top.file("B").c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  int afd = a.get();
  int bfd = b.get();
  bool ok = false;
  bool reused = reused_under(*rt, a, top.file("C"), [&]() -> aio::Task<void> {
    ok = (co_await aio::renameat(afd, "f", bfd, "g", RENAME_NOREPLACE)).ok();
  });
  CHECK_FALSE(reused);
  CHECK(ok);
  CHECK_FALSE(exists(top.file("A/f")));
  CHECK(slurp(top.file("B/g")) == "from A");
  CHECK(slurp(top.file("C/f")) == "from C");
}

TEST_CASE(
    "a linkat whose source directory fd is closed meanwhile links the file in that directory") {
  test::TempDir top;
  for (const char* d : {"A", "B", "C"})
    std::filesystem::create_directory(top.path() / d);
  spit(top.file("A/f"), "from A");
  spit(top.file("C/f"), "from C");
  auto rt = test::make_runtime();
  aio::UniqueFd a(::open(top.file("A").c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  aio::UniqueFd b(::open(top.file("B").c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  int afd = a.get();
  int bfd = b.get();
  bool ok = false;
  bool reused = reused_under(*rt, a, top.file("C"), [&]() -> aio::Task<void> {
    ok = (co_await aio::linkat(afd, "f", bfd, "g")).ok();
  });
  CHECK_FALSE(reused);
  CHECK(ok);
  CHECK(slurp(top.file("B/g")) == "from A");
  CHECK(slurp(top.file("A/f")) == "from A");
}

TEST_CASE("close_now closes at once and gives close's result; an empty fd is EBADF") {
  test::TempDir dir;
  auto rt = test::make_runtime();
  rt->block_on([&]() -> aio::Task<void> {
    aio::UniqueFd f(::open((dir.path() / "f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    const int number = f.get();
    REQUIRE(number >= 0);
    CHECK(aio::close_now(std::move(f)).ok());
    CHECK(fcntl(number, F_GETFD) == -1);
    CHECK(aio::close_now(aio::UniqueFd()).error() == std::errc::bad_file_descriptor);
    co_return;
  }());
}

TEST_CASE("close_now of an fd a read still names leaves it open until the read ends") {
  test::ConnectedFifo f;
  auto rt = test::make_runtime();
  const int number = f.rd.get();
  rt->block_on([&]() -> aio::Task<void> {
    aio::Scope scope(co_await aio::stop_token());
    scope.spawn(test::pending_read(number));
    (void)co_await aio::nop();
    // Closing the number under the read could let a new open reuse it.
    CHECK(aio::close_now(std::move(f.rd)).error() == std::errc::operation_in_progress);
    CHECK(fcntl(number, F_GETFD) != -1);
    REQUIRE(::write(f.wr.get(), "x", 1) == 1);
    co_await scope.join();
  }());
  CHECK(fcntl(number, F_GETFD) == -1);
}
