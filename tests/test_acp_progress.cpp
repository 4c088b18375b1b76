// acp --progress: how the bar and the plain lines look, and when each is used.
#include "progress.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>

namespace {
acp::Snapshot sample(bool known) {
  acp::Snapshot s;
  s.c.bytes = 3u << 20;
  s.c.files = 12;
  s.c.total_bytes = 12u << 20;
  s.c.total_files = 48;
  s.c.totals_known = known;
  s.seconds = 2;
  s.rate = 1.5 * (1 << 20);
  s.avg_rate = 1.5 * (1 << 20);
  return s;
}
} // namespace

TEST_CASE("sizes are shown in binary units with one decimal") {
  CHECK(acp::human_bytes(0) == "0 B");
  CHECK(acp::human_bytes(1023) == "1023 B");
  CHECK(acp::human_bytes(1536) == "1.5 KiB");
  CHECK(acp::human_bytes(3.0 * (1 << 30)) == "3.0 GiB");
}

TEST_CASE("the bar shows percent, bytes, files, rate and ETA, and never wraps") {
  auto s = sample(true);
  auto line = acp::bar_line(s, 120);
  CHECK(line.find(" 25%") != std::string::npos);
  CHECK(line.find("3.0 MiB / 12.0 MiB") != std::string::npos);
  CHECK(line.find("12 / 48 files") != std::string::npos);
  CHECK(line.find("1.5 MiB/s") != std::string::npos);
  CHECK(line.find("ETA 0:06") != std::string::npos); // 9 MiB left at 1.5 MiB/s
  CHECK(line.find('[') == 0);
  for (unsigned w : {20u, 40u, 80u, 200u}) {
    auto l = acp::bar_line(s, w);
    CHECK(l.size() < w);
    CHECK(l.find('\x1b') == std::string::npos);
    CHECK(l.find('\r') == std::string::npos);
  }
}

TEST_CASE("the bar's width depends on the terminal, not on the figures") {
  auto a = sample(true);
  auto b = sample(true);
  b.c.bytes = 11u << 20;
  b.c.total_bytes = 1200u << 20;
  b.c.files = 1234;
  CHECK(acp::bar_line(a, 120).find("]") == acp::bar_line(b, 120).find("]"));
}

TEST_CASE("before the totals are counted there is no bar, no total and no ETA") {
  auto line = acp::bar_line(sample(false), 120);
  CHECK(line.find('[') == std::string::npos);
  CHECK(line.find("(counting)") != std::string::npos);
  CHECK(line.find("12.0 MiB") == std::string::npos);
  CHECK(acp::plain_line(sample(false)) == "bytes=3145728/- files=12/- rate=1572864 eta=-");
}

TEST_CASE("a FIFO or stdin among the sources: no byte total, no ETA") {
  auto s = sample(true);
  s.c.streams = true;
  CHECK(acp::plain_line(s) == "bytes=3145728/- files=12/48 rate=1572864 eta=-");
  CHECK(acp::bar_line(s, 120).find('[') == std::string::npos);
}

TEST_CASE("plain lines are key=value fields; the last one says eta=0 and the time taken") {
  auto s = sample(true);
  CHECK(acp::plain_line(s) == "bytes=3145728/12582912 files=12/48 rate=1572864 eta=6");
  s.final = true;
  CHECK(acp::plain_line(s) == "bytes=3145728/12582912 files=12/48 rate=1572864 eta=0");
  CHECK(acp::bar_line(s, 120).find("in 0:02") != std::string::npos);
}

TEST_CASE("a bar only on a terminal, ANSI only without NO_COLOR, plain lines once a second") {
  using acp::Progress;
  auto bar_tty = acp::progress_style(Progress::Bar, true, false);
  CHECK(bar_tty.bar);
  CHECK(bar_tty.ansi);
  CHECK(bar_tty.period.count() == 100); // at most ten redraws a second
  auto no_color = acp::progress_style(Progress::Bar, true, true);
  CHECK(no_color.bar);
  CHECK_FALSE(no_color.ansi);
  auto piped = acp::progress_style(Progress::Bar, false, false);
  CHECK_FALSE(piped.bar);
  CHECK_FALSE(piped.ansi);
  CHECK(piped.period.count() == 1000);
  auto plain = acp::progress_style(Progress::Plain, true, false);
  CHECK_FALSE(plain.bar);
  CHECK_FALSE(plain.ansi);
}
