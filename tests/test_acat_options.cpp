// acat's value parsers: tail's counts and timeout's durations.
#include "options.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("counts: plain, +N, -N and tail's multipliers") {
  auto c = acat::parse_count("10");
  REQUIRE(c);
  CHECK(c->n == 10);
  CHECK_FALSE(c->from_start);
  c = acat::parse_count("+3");
  REQUIRE(c);
  CHECK(c->n == 3);
  CHECK(c->from_start);
  c = acat::parse_count("-7");
  REQUIRE(c);
  CHECK(c->n == 7);
  CHECK_FALSE(c->from_start);
  CHECK(acat::parse_count("2b")->n == 1024);
  CHECK(acat::parse_count("1K")->n == 1024);
  CHECK(acat::parse_count("1kB")->n == 1000);
  CHECK(acat::parse_count("3KiB")->n == 3072);
  CHECK(acat::parse_count("1M")->n == 1024 * 1024);
  CHECK(acat::parse_count("1GB")->n == 1000ull * 1000 * 1000);
}

TEST_CASE("counts: garbage is refused, too big is an error (coreutils 9.1)") {
  CHECK_FALSE(acat::parse_count(""));
  CHECK_FALSE(acat::parse_count("+"));
  CHECK_FALSE(acat::parse_count("x"));
  CHECK_FALSE(acat::parse_count("5q"));
  CHECK_FALSE(acat::parse_count("1.5"));
  CHECK_FALSE(acat::parse_count("1Q")); // R and Q came after 9.1
  CHECK_FALSE(acat::parse_count("5g"));
  CHECK_FALSE(acat::parse_count("2bB"));
  CHECK_FALSE(acat::parse_count("+ 5"));
  CHECK_FALSE(acat::parse_count(" -5"));
  CHECK_FALSE(acat::parse_count("+k"));
  acat::CountError why{};
  CHECK_FALSE(acat::parse_count("99999999999999999999999", &why));
  CHECK(why == acat::CountError::Overflow);
  CHECK_FALSE(acat::parse_count("16E", &why));
  CHECK(why == acat::CountError::Overflow);
  CHECK_FALSE(acat::parse_count("99999999999999999999999x", &why));
  CHECK(why == acat::CountError::Invalid);
  CHECK(acat::parse_count("18446744073709551615")->n == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("counts: tail's corners (a suffix alone, blanks, signs, D)") {
  CHECK(acat::parse_count("k")->n == 1024);
  CHECK(acat::parse_count("kB")->n == 1000);
  CHECK(acat::parse_count("b")->n == 512);
  CHECK(acat::parse_count("-k")->n == 1024);
  CHECK(acat::parse_count("5kD")->n == 5000);
  CHECK(acat::parse_count("\n\v5")->n == 5);
  auto c = acat::parse_count(" +5"); // the sign of the number, not "from the start"
  REQUIRE(c);
  CHECK(c->n == 5);
  CHECK_FALSE(c->from_start);
  c = acat::parse_count("-+5");
  REQUIRE(c);
  CHECK_FALSE(c->from_start);
  CHECK(acat::parse_count("15E")->n == 15ull << 60);
}

TEST_CASE("durations: seconds by default, ms s m h d, fractions") {
  CHECK(*acat::parse_duration("2") == 2s);
  CHECK(*acat::parse_duration("1.5") == 1500ms);
  CHECK(*acat::parse_duration("250ms") == 250ms);
  CHECK(*acat::parse_duration("3m") == 180s);
  CHECK(*acat::parse_duration("1h") == 3600s);
  CHECK(*acat::parse_duration("1d") == 86400s);
  CHECK_FALSE(acat::parse_duration(""));
  CHECK_FALSE(acat::parse_duration("s"));
  CHECK_FALSE(acat::parse_duration("1y"));
  CHECK_FALSE(acat::parse_duration("-1"));
}

namespace {

// parse() on a command line given as words (argv[0] is "acat").
acat::ParseOutcome parse_words(std::vector<std::string> words, acat::Options& o,
                               std::string& error) {
  words.insert(words.begin(), "acat");
  std::vector<char*> argv;
  for (auto& w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);
  return acat::parse(static_cast<int>(words.size()), argv.data(), o, error);
}

} // namespace

TEST_CASE("-z and --zero-terminated make NUL the line delimiter, as tail's -z") {
  for (auto words : std::vector<std::vector<std::string>>{
           {"-z", "-n", "2", "f"}, {"--zero-terminated", "f"}, {"--zero", "f"}, {"-zn2", "f"}}) {
    acat::Options o;
    std::string error;
    CAPTURE(words[0]);
    REQUIRE(parse_words(words, o, error) == acat::ParseOutcome::Run);
    CHECK(o.delim == '\0');
    CHECK(o.files == std::vector<std::string>{"f"});
  }
  acat::Options o;
  std::string error;
  REQUIRE(parse_words({"-n", "2", "f"}, o, error) == acat::ParseOutcome::Run);
  CHECK(o.delim == '\n');
  CHECK(parse_words({"--zero-terminated=1", "f"}, o, error) == acat::ParseOutcome::UsageError);
}

TEST_CASE("-s: seconds as tail's strtod reads them; negative, NaN and overflow refused") {
  CHECK(acat::parse_seconds("0.5") == 500ms);
  CHECK(acat::parse_seconds("1") == 1s);
  CHECK(acat::parse_seconds(" 2") == 2s);
  CHECK(acat::parse_seconds("+.25") == 250ms);
  CHECK(acat::parse_seconds("1e2") == 100s);
  CHECK(acat::parse_seconds("0x10") == 16s);
  CHECK(acat::parse_seconds("-0") == 0s);
  CHECK(acat::parse_seconds("1e-400") == 0s); // underflow to 0: accepted
  CHECK(acat::parse_seconds("inf") > std::chrono::hours(24 * 365 * 100));
  CHECK(acat::parse_seconds("1e308") > std::chrono::hours(24 * 365 * 100));
  for (const char* bad : {"", "x", "-1", "nan", "1e400", "1e-310", "1s", "0x", "1,5", "1 "}) {
    CAPTURE(bad);
    CHECK_FALSE(acat::parse_seconds(bad));
  }
}

TEST_CASE("--max-unchanged-stats: strtoumax's syntax, no suffix, too big says so") {
  CHECK(acat::parse_unchanged_stats("5") == 5u);
  CHECK(acat::parse_unchanged_stats(" +5") == 5u);
  CHECK(acat::parse_unchanged_stats("010") == 10u);
  CHECK(acat::parse_unchanged_stats("18446744073709551615") ==
        std::numeric_limits<std::uint64_t>::max());
  acat::CountError why{};
  for (const char* bad : {"", "+", "-0", " -1", "5 ", "0x5", "1k", "1.5"}) {
    CAPTURE(bad);
    CHECK_FALSE(acat::parse_unchanged_stats(bad, &why));
    CHECK(why == acat::CountError::Invalid);
  }
  CHECK_FALSE(acat::parse_unchanged_stats("18446744073709551616", &why));
  CHECK(why == acat::CountError::Overflow);
}

TEST_CASE("-s and --max-unchanged-stats on the command line: last wins, bad values refused") {
  acat::Options o;
  std::string error;
  REQUIRE(parse_words({"-s", "x", "-s", "0.5", "--sleep=2", "--max=7", "-f", "f"}, o, error) ==
          acat::ParseOutcome::BadValue);
  // (the quotes are the locale's)
  CHECK(error.starts_with("invalid number of seconds: "));
  CHECK(error.find('x') != std::string::npos);
  acat::Options p;
  REQUIRE(parse_words({"-s", "9", "--sleep=0.25", "--max=7", "-f", "f"}, p, error) ==
          acat::ParseOutcome::Run);
  CHECK(p.sleep_interval == 250ms);
  CHECK(p.max_unchanged_stats == 7u);
  acat::Options d;
  REQUIRE(parse_words({"-f", "f"}, d, error) == acat::ParseOutcome::Run);
  CHECK(d.sleep_interval == 1s);
  acat::Options q;
  CHECK(parse_words({"--max-unchanged-stats=1k", "f"}, q, error) == acat::ParseOutcome::BadValue);
  CHECK(error.starts_with("invalid maximum number of unchanged stats between opens: "));
  CHECK(error.find("1k") != std::string::npos);
  // --s is now ambiguous (--silent, --sleep-interval), as in tail.
  CHECK(parse_words({"--s", "f"}, q, error) == acat::ParseOutcome::UsageError);
}

TEST_CASE("cat's display options: short and long forms, plain concatenation only") {
  acat::Options o;
  std::string error;
  REQUIRE(parse_words({"-A", "f", "g"}, o, error) == acat::ParseOutcome::Run);
  CHECK(o.display.show_nonprinting);
  CHECK(o.display.show_ends);
  CHECK(o.display.show_tabs);
  acat::Options p;
  REQUIRE(parse_words({"-et", "--number", "--squeeze-blank", "f", "g"}, p, error) ==
          acat::ParseOutcome::Run);
  CHECK(p.display.show_nonprinting);
  CHECK(p.display.show_ends);
  CHECK(p.display.show_tabs);
  CHECK(p.display.number);
  CHECK(p.display.squeeze_blank);
  CHECK(p.mode == acat::Mode::Cat);
  acat::Options q;
  REQUIRE(parse_words({"-bE", "f", "g"}, q, error) == acat::ParseOutcome::Run);
  CHECK(q.display.number_nonblank);
  CHECK(q.display.show_ends);
  // -n, -s and -v stay tail's.
  acat::Options r;
  REQUIRE(parse_words({"-n", "2", "-v", "f"}, r, error) == acat::ParseOutcome::Run);
  CHECK_FALSE(r.display.any());
  acat::Options s;
  CHECK(parse_words({"-E", "-n", "2", "f"}, s, error) == acat::ParseOutcome::UsageError);
  acat::Options t;
  CHECK(parse_words({"--show-ends", "-f", "f"}, t, error) == acat::ParseOutcome::UsageError);
}
