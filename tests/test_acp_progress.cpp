// acp --progress: how the bar and the plain lines look, and when each is used.
#include "progress.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
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

namespace {
// What a StatusLine wrote: out and err are two unbuffered streams appending
// to one file, as stdout and stderr on one terminal.
struct Screen {
  std::string path;
  std::FILE* out = nullptr;
  std::FILE* err = nullptr;
  Screen() {
    char name[] = "/tmp/acp-screen.XXXXXX";
    ::close(::mkstemp(name));
    path = name;
    out = std::fopen(name, "a");
    err = std::fopen(name, "a");
    std::setvbuf(out, nullptr, _IONBF, 0);
    std::setvbuf(err, nullptr, _IONBF, 0);
  }
  ~Screen() {
    std::fclose(out);
    std::fclose(err);
    ::unlink(path.c_str());
  }
  std::string text() const {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};
acp::ProgressStyle bar_style(bool ansi) {
  acp::ProgressStyle st;
  st.bar = true;
  st.ansi = ansi;
  return st;
}
} // namespace

TEST_CASE("a -v line is written above the bar at the next redraw, never glued to it") {
  Screen s;
  acp::StatusLine line(s.out, s.err);
  line.start_bar(bar_style(true), true);
  line.draw("bar 1", false);
  line.print(s.out, "'a' -> 'b'\n");
  CHECK(s.text() == "\rbar 1\x1b[K"); // gathered, not yet written
  line.draw("bar 2", false);
  CHECK(s.text() == "\rbar 1\x1b[K\r\x1b[K'a' -> 'b'\n\rbar 2\x1b[K");
}

TEST_CASE("a message goes above the bar at once, after the -v lines gathered before it") {
  Screen s;
  acp::StatusLine line(s.out, s.err);
  line.start_bar(bar_style(false), true);
  line.draw("bar", false);
  line.print(s.out, "v\n");
  line.print(s.err, "acp: oops\n");
  // Without ANSI the bar is blanked with spaces.
  CHECK(s.text() == "\rbar\r   \rv\nacp: oops\n\rbar");
}

TEST_CASE("-v lines to a file or pipe are not held for the bar") {
  Screen out, err;
  acp::StatusLine line(out.out, err.err);
  line.start_bar(bar_style(true), false);
  line.draw("bar", false);
  line.print(out.out, "'a' -> 'b'\n");
  CHECK(out.text() == "'a' -> 'b'\n");
  CHECK(err.text() == "\rbar\x1b[K");
}

TEST_CASE("gathered -v lines are written once they reach kPendingMax bytes") {
  Screen s;
  acp::StatusLine line(s.out, s.err);
  line.start_bar(bar_style(true), true);
  line.draw("bar", false);
  std::string l(99, 'x');
  l += '\n';
  for (std::size_t n = 0; n < acp::StatusLine::kPendingMax; n += l.size())
    line.print(s.out, l);
  auto t = s.text();
  CHECK(t.size() > acp::StatusLine::kPendingMax);
  CHECK(t.substr(t.size() - 9) == "x\n\rbar\x1b[K");
}

TEST_CASE("the last bar ends its line and later lines go below it") {
  Screen s;
  acp::StatusLine line(s.out, s.err);
  line.start_bar(bar_style(true), true);
  line.draw("bar", false);
  line.print(s.out, "v\n");
  line.draw("done", true);
  line.print(s.out, "after\n");
  CHECK(s.text() == "\rbar\x1b[K\r\x1b[Kv\n\rdone\x1b[K\nafter\n");
}
