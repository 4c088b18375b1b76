// tail's arithmetic in acat, checked against a naive model on many inputs:
// the backward scan of files, +N skipping, and the bounded stream keeper.
#include "tail.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>

namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}
std::string str(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// The obvious definition: split into lines (the last may lack '\n').
std::string model_last_lines(const std::string& s, std::uint64_t n) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t nl = s.find('\n', start);
    std::size_t end = nl == std::string::npos ? s.size() : nl + 1;
    lines.push_back(s.substr(start, end - start));
    start = end;
  }
  std::string out;
  std::size_t from = lines.size() > n ? lines.size() - n : 0;
  for (std::size_t i = from; i < lines.size(); ++i)
    out += lines[i];
  return out;
}

std::string model_from_line(const std::string& s, std::uint64_t n) {
  std::size_t pos = 0;
  for (std::uint64_t i = 1; i < n && pos < s.size(); ++i) {
    std::size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) return "";
    pos = nl + 1;
  }
  return s.substr(pos);
}

std::string random_text(std::mt19937& rng, std::size_t len) {
  std::string s(len, 'x');
  for (auto& c : s)
    c = (rng() % 5 == 0) ? '\n' : static_cast<char>('a' + rng() % 26);
  return s;
}

// Scans `s` backwards in blocks of `block` bytes, as tail_start does on a file.
std::string scan_last_lines(const std::string& s, std::uint64_t n, std::size_t block) {
  acat::BackScanner scan(n, s.size());
  std::size_t end = s.size();
  while (end > 0) {
    std::size_t base = end > block ? end - block : 0;
    if (auto start = scan.feed(bytes(s).subspan(base, end - base), base))
      return s.substr(static_cast<std::size_t>(*start));
    end = base;
  }
  return n == 0 ? "" : s;
}

} // namespace

TEST_CASE("the backward scan finds the last N lines like tail -n N") {
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::string s = random_text(rng, rng() % 300);
    if (round % 3 == 0 && !s.empty()) s.back() = '\n';
    std::uint64_t n = rng() % 12;
    std::size_t block = 1 + rng() % 40;
    CAPTURE(s);
    CAPTURE(n);
    CHECK(scan_last_lines(s, n, block) == model_last_lines(s, n));
  }
  CHECK(scan_last_lines("a\nb\nc\n", 2, 4) == "b\nc\n");
  CHECK(scan_last_lines("a\nb\nc", 2, 4) == "b\nc");
  CHECK(scan_last_lines("\n\n\n", 1, 1) == "\n");
}

TEST_CASE("the keeper holds bounded memory and gives the last N lines or bytes") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string s = random_text(rng, rng() % 5000);
    std::uint64_t n = rng() % 20;
    std::size_t chunk = 1 + rng() % 64;
    acat::Keeper lines(acat::Mode::Lines, n, chunk), tailbytes(acat::Mode::Bytes, n * 10, chunk);
    std::size_t nb = static_cast<std::size_t>(n * 10);
    CAPTURE(n);
    CAPTURE(chunk);
    for (std::size_t at = 0; at < s.size();) {
      std::size_t len = std::min<std::size_t>(1 + rng() % 200, s.size() - at);
      lines.feed(bytes(s).subspan(at, len));
      tailbytes.feed(bytes(s).subspan(at, len));
      at += len;
      // N bytes, or the last N+1 lines, plus at most one chunk, in at most
      // one more chunk of allocation.
      CHECK(tailbytes.held() <= nb + chunk);
      CHECK(tailbytes.allocated() <= nb + 2 * chunk);
      std::size_t need = n == 0 ? 0 : model_last_lines(s.substr(0, at), n + 1).size();
      CHECK(lines.held() <= need + chunk);
      CHECK(lines.allocated() <= need + 2 * chunk);
    }
    CHECK(lines.take() == model_last_lines(s, n));
    CHECK(tailbytes.take() == (s.size() > nb ? s.substr(s.size() - nb) : s));
  }
}

TEST_CASE("the keeper of one long line holds it once, in chunks of its size") {
  // The 60 MiB-pipe case in small: fewer lines than asked, so all is kept,
  // and the answer is the chunks themselves, not a joined copy.
  std::string s(100000, 'x');
  s.back() = '\n';
  acat::Keeper k(acat::Mode::Lines, 1000);
  for (std::size_t at = 0; at < s.size(); at += 4096)
    k.feed(bytes(s).subspan(at, std::min<std::size_t>(4096, s.size() - at)));
  CHECK(k.held() == s.size());
  CHECK(k.allocated() <= s.size() + acat::Keeper::kChunk);
  std::size_t total = 0;
  for (auto part : k.last())
    total += part.size();
  CHECK(total == s.size());
  CHECK(k.take() == s);
}

TEST_CASE("the skipper drops what precedes line or byte N") {
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {
    std::string s = random_text(rng, rng() % 500);
    std::uint64_t n = rng() % 30;
    acat::Skipper lines(acat::Mode::Lines, n), bytes_(acat::Mode::Bytes, n);
    std::string got_l, got_b;
    for (std::size_t at = 0; at < s.size();) {
      std::size_t len = std::min<std::size_t>(1 + rng() % 17, s.size() - at);
      got_l += str(lines.feed(bytes(s).subspan(at, len)));
      got_b += str(bytes_.feed(bytes(s).subspan(at, len)));
      at += len;
    }
    CAPTURE(n);
    CHECK(got_l == model_from_line(s, n));
    std::size_t skip = n > 0 ? static_cast<std::size_t>(n - 1) : 0;
    CHECK(got_b == (skip < s.size() ? s.substr(skip) : ""));
  }
}

TEST_CASE("with -z a NUL ends a line: scanner, keeper and skipper count NULs, not newlines") {
  using namespace std::string_literals;
  const std::string s = "a\0b\nc\0d\0e\n"s; // three NUL-ended lines, then "e\n"
  acat::BackScanner scan(2, s.size(), '\0');
  auto start = scan.feed(bytes(s), 0);
  REQUIRE(start);
  CHECK(s.substr(static_cast<std::size_t>(*start)) == "d\0e\n"s);
  // A final NUL ends the last line, it does not start one.
  const std::string t = "x\0y\0"s;
  acat::BackScanner scan_t(1, t.size(), '\0');
  CHECK(scan_t.feed(bytes(t), 0) == 2u);
  acat::Keeper keep(acat::Mode::Lines, 2, 4, '\0');
  keep.feed(bytes(s));
  CHECK(keep.take() == "d\0e\n"s);
  acat::Skipper skip(acat::Mode::Lines, 3, '\0');
  CHECK(str(skip.feed(bytes(s))) == "d\0e\n"s);
}
