// afifo's value parsers (durations, sizes, modes) and mux's tag format.
#include "common.hpp"
#include "mux.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;

TEST_CASE("durations: a number with an optional unit, seconds by default, > 0") {
  CHECK(afifo::parse_duration("2") == std::chrono::nanoseconds(2s));
  CHECK(afifo::parse_duration("1.5") == std::chrono::nanoseconds(1500ms));
  CHECK(afifo::parse_duration("250ms") == std::chrono::nanoseconds(250ms));
  CHECK(afifo::parse_duration("10us") == std::chrono::nanoseconds(10us));
  CHECK(afifo::parse_duration("3m") == std::chrono::nanoseconds(180s));
  CHECK(afifo::parse_duration("1h") == std::chrono::nanoseconds(3600s));
  CHECK(afifo::parse_duration("1d") == std::chrono::nanoseconds(86400s));
  CHECK(afifo::parse_duration(".5s") == std::chrono::nanoseconds(500ms));
  for (const char* bad :
       {"", "0", "0s", "-1", "1x", "s", "1.2.3", "1 s", "1e3", "1d2", "soon", "9999999999999d"})
    CHECK_MESSAGE(!afifo::parse_duration(bad), bad);
}

TEST_CASE("sizes: bytes with K, M, G as powers of 1024 and KB, MB, GB of 1000, >= 1") {
  CHECK(afifo::parse_size("4096") == 4096u);
  CHECK(afifo::parse_size("4096B") == 4096u);
  CHECK(afifo::parse_size("64K") == 65536u);
  CHECK(afifo::parse_size("64k") == 65536u);
  CHECK(afifo::parse_size("64KiB") == 65536u);
  CHECK(afifo::parse_size("16M") == std::size_t{16} << 20);
  CHECK(afifo::parse_size("2MB") == 2000000u);
  CHECK(afifo::parse_size("1G") == std::size_t{1} << 30);
  CHECK(afifo::parse_size("1GB") == 1000000000u);
  for (const char* bad : {"", "0", "-1", "1T", "K", "1.5M", "12x", "1Ki", "1KBB",
                          "99999999999999999999", "20000000000G"})
    CHECK_MESSAGE(!afifo::parse_size(bad), bad);
}

TEST_CASE("modes: octal permission bits up to 07777") {
  CHECK(afifo::parse_mode("600") == mode_t{0600});
  CHECK(afifo::parse_mode("0644") == mode_t{0644});
  CHECK(afifo::parse_mode("7777") == mode_t{07777});
  for (const char* bad : {"", "8", "999", "17777", "rw", "6 0"})
    CHECK_MESSAGE(!afifo::parse_mode(bad), bad);
}

TEST_CASE("tags: {name} and {index} replaced, everything else kept") {
  CHECK(afifo::format_tag("{name}: ", "a.fifo", 3) == "a.fifo: ");
  CHECK(afifo::format_tag("[{index}] {name}|", "x", 12) == "[12] x|");
  CHECK(afifo::format_tag("{nam} {", "x", 1) == "{nam} {");
  CHECK(afifo::format_tag("", "x", 1) == "");
}
