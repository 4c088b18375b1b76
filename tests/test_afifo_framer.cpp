// afifo's record framer: records come out whole however the reads cut them,
// over-long records come out in bounded pieces, and nothing is lost or added.
#include "framer.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

namespace {

struct Out {
  std::string bytes;
  bool first;
  bool last;
};

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Feeds `input` cut at the given offsets; returns every piece handed out.
std::vector<Out> run(afifo::Framer& f, const std::string& input, const std::vector<size_t>& cuts) {
  std::vector<Out> out;
  auto emit = [&](const afifo::Piece& p) {
    out.push_back({std::string(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size()),
                   p.first, p.last});
  };
  size_t pos = 0;
  for (size_t c : cuts) {
    f.feed(as_bytes(input).subspan(pos, c - pos), emit);
    pos = c;
  }
  f.feed(as_bytes(input).subspan(pos), emit);
  return out;
}

std::string partial_of(const afifo::Framer& f) {
  auto p = f.partial();
  return {reinterpret_cast<const char*>(p.data()), p.size()};
}

} // namespace

TEST_CASE("a record split across two reads at every byte boundary comes out whole, once") {
  const std::string input = "alpha\nbe\ngamma delta\n\nz\ntail";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    afifo::Framer f(afifo::Framing::line, 1 << 20);
    auto out = run(f, input, {cut});
    REQUIRE(out.size() == 5);
    CHECK(out[0].bytes == "alpha\n");
    CHECK(out[1].bytes == "be\n");
    CHECK(out[2].bytes == "gamma delta\n");
    CHECK(out[3].bytes == "\n");
    CHECK(out[4].bytes == "z\n");
    for (auto& o : out)
      CHECK((o.first && o.last));
    CHECK(partial_of(f) == "tail");
    CHECK(f.in_record());
    CHECK(f.oversized() == 0);
  }
}

TEST_CASE("records cut into one-byte reads come out whole") {
  const std::string input = "one\ntwo\nthree\n";
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i)
    cuts.push_back(i);
  afifo::Framer f(afifo::Framing::line, 64);
  auto out = run(f, input, cuts);
  REQUIRE(out.size() == 3);
  CHECK(out[2].bytes == "three\n");
  CHECK_FALSE(f.in_record());
}

TEST_CASE("1 MiB lines read in 64 KiB chunks come out whole") {
  std::mt19937 rng(7);
  std::string input;
  std::vector<std::string> lines;
  for (int i = 0; i < 4; ++i) {
    std::string l(1 << 20, 'a' + static_cast<char>(i));
    l[rng() % l.size()] = 'x';
    lines.push_back(l + "\n");
    input += lines.back();
  }
  std::vector<size_t> cuts;
  for (size_t c = 65536; c < input.size(); c += 65536)
    cuts.push_back(c);
  afifo::Framer f(afifo::Framing::line, 16 << 20);
  auto out = run(f, input, cuts);
  REQUIRE(out.size() == lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(out[i].bytes == lines[i]);
    CHECK((out[i].first && out[i].last));
  }
  CHECK(f.oversized() == 0);
}

TEST_CASE("a record longer than max_record comes out in pieces of at most max_record") {
  const std::string input = "0123456789abcdefghij\nshort\n0123456789";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    afifo::Framer f(afifo::Framing::line, 8);
    auto out = run(f, input, {cut});
    REQUIRE(out.size() == 5);
    CHECK(out[0].bytes == "01234567");
    CHECK((out[0].first && !out[0].last));
    CHECK(out[1].bytes == "89abcdef");
    CHECK((!out[1].first && !out[1].last));
    CHECK(out[2].bytes == "ghij\n");
    CHECK((!out[2].first && out[2].last));
    CHECK(out[3].bytes == "short\n");
    CHECK((out[3].first && out[3].last));
    // The unended last record: its first max_record bytes went out, the rest is kept.
    CHECK(out[4].bytes == "01234567");
    CHECK((out[4].first && !out[4].last));
    CHECK(partial_of(f) == "89");
    CHECK(f.continuing());
    CHECK(f.oversized() == 2);
  }
}

TEST_CASE("the kept partial record never grows past max_record") {
  afifo::Framer f(afifo::Framing::line, 8);
  std::vector<Out> out;
  auto emit = [&](const afifo::Piece& p) {
    out.push_back({std::string(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size()),
                   p.first, p.last});
  };
  const std::string chunk = "abc";
  for (int i = 0; i < 100; ++i) {
    f.feed(as_bytes(chunk), emit);
    CHECK(f.partial().size() < 8);
  }
  CHECK(out.size() == 300 / 8);
  CHECK(out.front().first);
  for (size_t i = 1; i < out.size(); ++i)
    CHECK_FALSE(out[i].first);
  for (auto& o : out)
    CHECK((o.bytes.size() == 8 && !o.last));
  CHECK(f.continuing());
  CHECK(f.oversized() == 1);
}

TEST_CASE("a record of exactly max_record bytes with its newline is one piece") {
  afifo::Framer f(afifo::Framing::line, 4);
  auto out = run(f, "abc\nabcd\n", {});
  REQUIRE(out.size() == 3);
  CHECK(out[0].bytes == "abc\n");
  CHECK(out[1].bytes == "abcd");
  CHECK(out[2].bytes == "\n");
  CHECK(out[2].last);
}

TEST_CASE("null framing ends records at NUL, not at newline") {
  const std::string input = std::string("a\nb\0c\0d", 7);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    afifo::Framer f(afifo::Framing::null, 1024);
    auto out = run(f, input, {cut});
    REQUIRE(out.size() == 2);
    CHECK(out[0].bytes == std::string("a\nb\0", 4));
    CHECK(out[1].bytes == std::string("c\0", 2));
    CHECK(partial_of(f) == "d");
  }
}

TEST_CASE("raw framing hands out chunks as read, keeps nothing") {
  afifo::Framer f(afifo::Framing::raw, 4);
  auto out = run(f, "abcdefghij", {3});
  REQUIRE(out.size() == 3);
  CHECK(out[0].bytes == "abc");
  CHECK(out[1].bytes == "defg");
  CHECK(out[2].bytes == "hij");
  for (auto& o : out)
    CHECK((o.first && o.last));
  CHECK_FALSE(f.in_record());
}

TEST_CASE("random records and random reads: the concatenation is the input, each piece bounded") {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    const size_t max = 1 + rng() % 40;
    std::string input;
    const size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i)
      input.push_back(rng() % 5 == 0 ? '\n' : static_cast<char>('a' + rng() % 26));
    std::vector<size_t> cuts;
    for (size_t c = 0; c < input.size(); c += 1 + rng() % 50)
      cuts.push_back(c);
    afifo::Framer f(afifo::Framing::line, max);
    auto out = run(f, input, cuts);
    std::string all;
    bool in_record = false;
    for (auto& o : out) {
      CHECK(o.bytes.size() <= max);
      CHECK(o.first == !in_record);
      CHECK((o.last == (o.bytes.back() == '\n')));
      CHECK(o.bytes.find('\n') >= o.bytes.size() - 1);
      in_record = !o.last;
      all += o.bytes;
    }
    all += partial_of(f);
    CHECK(all == input);
  }
}

TEST_CASE("parse_framing takes line, null and raw only") {
  afifo::Framing f{};
  CHECK(afifo::parse_framing("null", f));
  CHECK(f == afifo::Framing::null);
  CHECK(afifo::parse_framing("raw", f));
  CHECK(afifo::parse_framing("line", f));
  CHECK(f == afifo::Framing::line);
  CHECK_FALSE(afifo::parse_framing("lines", f));
  CHECK_FALSE(afifo::parse_framing("", f));
}
