// acat's Output: what stdout being a regular file changes.
#include "support.hpp"

#include "output.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

TEST_CASE("a kernel copy into a regular file counts as input for --idle-timeout") {
  test::TempDir dir;
  { std::ofstream(dir.file("in")) << "copied\n"; }
  aio::UniqueFd in(::open(dir.file("in").c_str(), O_RDONLY | O_CLOEXEC));
  aio::UniqueFd out(::open(dir.file("out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(in.valid());
  REQUIRE(out.valid());
  acat::Output o(out.get(), false, false);
  acat::Source src{"in", {}};
  REQUIRE(o.copies_for(src));
  o.track_activity();
  const auto started = o.last_activity();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::uint64_t pos = 0;
  auto n = o.copy_from(in.get(), pos, 5); // a tail's first pass stops at its end
  REQUIRE(n.ok());
  CHECK(*n == 5);
  CHECK(pos == 5);
  n = o.copy_from(in.get(), pos, 5);
  REQUIRE(n.ok());
  CHECK(*n == 0);
  n = o.copy_from(in.get(), pos, ~std::uint64_t{0});
  REQUIRE(n.ok());
  CHECK(*n == 2);
  CHECK(pos == 7);
  // Otherwise a first pass longer than the timeout would end the follow
  // that comes after it at once.
  CHECK(o.last_activity() > started);
  std::ifstream f(dir.file("out"));
  std::string line;
  std::getline(f, line);
  CHECK(line == "copied");
}
