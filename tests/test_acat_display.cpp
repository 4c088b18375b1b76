// cat's display options: the bytes GNU cat 9.1 writes (tried side by side;
// tests/acat_gnu_e2e.sh compares with /usr/bin/cat on many more inputs).
#include "display.hpp"

#include <doctest/doctest.h>

#include <span>
#include <string>

namespace {

using namespace std::string_literals;

// Feeds `parts` as successive inputs, then the end.
std::string show(acat::DisplayOptions o, std::initializer_list<std::string> parts) {
  acat::Display d(o);
  std::string out;
  for (const auto& p : parts)
    d.feed(std::as_bytes(std::span(p.data(), p.size())), out);
  d.finish(out);
  return out;
}

} // namespace

TEST_CASE("display: --number numbers every line, and goes on across files") {
  acat::DisplayOptions o;
  o.number = true;
  CHECK(show(o, {"a\n\nb"}) == "     1\ta\n     2\t\n     3\tb");
  CHECK(show(o, {"a\nb", "c\n", "d\n"}) == "     1\ta\n     2\tbc\n     3\td\n");
}

TEST_CASE("display: -b numbers nonempty lines only, over --number") {
  acat::DisplayOptions o;
  o.number = o.number_nonblank = true;
  CHECK(show(o, {"a\n\n\nb\n"}) == "     1\ta\n\n\n     2\tb\n");
}

TEST_CASE("display: --squeeze-blank keeps one empty line, across files too") {
  acat::DisplayOptions o;
  o.squeeze_blank = true;
  CHECK(show(o, {"\n\n\na\n\n\n"}) == "\na\n\n");
  CHECK(show(o, {"a\n\n", "\n\nb\n"}) == "a\n\nb\n");
}

TEST_CASE("display: -E, -T and --show-nonprinting as cat shows them") {
  acat::DisplayOptions e;
  e.show_ends = true;
  CHECK(show(e, {"a\r\nb\r"}) == "a^M$\nb\r");
  CHECK(show(e, {"a\r", "\nb\n"}) == "a^M$\nb$\n"); // the CR's LF in the next file
  acat::DisplayOptions t;
  t.show_tabs = true;
  CHECK(show(t, {"\ta\t\n"}) == "^Ia^I\n");
  acat::DisplayOptions v;
  v.show_nonprinting = true;
  CHECK(show(v, {"\x01\t\x7f\x80\x9f\xa0\xff\r\n"s}) == "^A\t^?M-^@M-^_M- M-^?^M\n");
}
