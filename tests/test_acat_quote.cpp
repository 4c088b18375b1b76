// Names in messages quoted as coreutils' quoteaf and quotef quote them
// (tools/common, used by acat and acp). Cases whose output depends on the
// locale (é, C1 controls) are compared with GNU in acat_gnu_e2e.sh under
// LC_ALL=C and C.UTF-8; these hold in any locale.
#include "quote.hpp"

#include <doctest/doctest.h>

TEST_CASE("quote: always quoted, escapes in $'...', an apostrophe alone in double quotes") {
  CHECK(tools::quote("x") == "'x'");
  CHECK(tools::quote("") == "''");
  CHECK(tools::quote("plain name") == "'plain name'");
  CHECK(tools::quote("it's") == "\"it's\"");
  CHECK(tools::quote("it's a:b@c") == "\"it's a:b@c\"");
  // With a shell special or an escape, apostrophes become '\''.
  CHECK(tools::quote("it's $x") == "'it'\\''s $x'");
  CHECK(tools::quote("it's\\x") == "'it'\\''s\\x'");
  CHECK(tools::quote("a\nb") == "'a'$'\\n''b'");
  CHECK(tools::quote("a\tb") == "'a'$'\\t''b'");
  CHECK(tools::quote("\a\b\f\v\r\x01\x7f") == "''$'\\a\\b\\f\\v\\r\\001\\177'");
  CHECK(tools::quote("bad\xff") == "'bad'$'\\377'");
  CHECK(tools::quote("x\xffy") == "'x'$'\\377''y'");
  CHECK(tools::quote("it's\n") == "'''it'\\''s'$'\\n'");
  // '#' and '~' are special only first, '{' '}' only alone.
  CHECK(tools::quote("#a'") == "\"#a'\"");
  CHECK(tools::quote("a#'") == "'a#'\\'''");
}

TEST_CASE("quote_if_needed: the name as it is unless the shell would change it") {
  CHECK(tools::quote_if_needed("x") == "x");
  CHECK(tools::quote_if_needed("a+b,c@d%e.f/g_h-i]") == "a+b,c@d%e.f/g_h-i]");
  CHECK(tools::quote_if_needed("a#") == "a#");
  CHECK(tools::quote_if_needed("a~") == "a~");
  CHECK(tools::quote_if_needed("{a") == "{a");
  CHECK(tools::quote_if_needed("") == "''");
  CHECK(tools::quote_if_needed("{") == "'{'");
  CHECK(tools::quote_if_needed("#a") == "'#a'");
  CHECK(tools::quote_if_needed("~a") == "'~a'");
  CHECK(tools::quote_if_needed("a:b") == "'a:b'");
  CHECK(tools::quote_if_needed("a b") == "'a b'");
  CHECK(tools::quote_if_needed("a?b") == "'a?b'");
  CHECK(tools::quote_if_needed("a\\b") == "'a\\b'");
  CHECK(tools::quote_if_needed("it's") == "\"it's\"");
  CHECK(tools::quote_if_needed("a\nb") == "'a'$'\\n''b'");
  for (const char* special :
       {"!", "\"", "$", "&", "(", ")", "*", ";", "<", "=", ">", "[", "^", "`", "|"}) {
    std::string name = std::string("a") + special + "b";
    CAPTURE(name);
    CHECK(tools::quote_if_needed(name) == tools::quote(name));
    CHECK(tools::quote_if_needed(name).front() != 'a');
  }
}

TEST_CASE("quote: coreutils 9.1's second pass keeps the first's escape state") {
  // Seen with Debian 12's tail and cat: an apostrophe plus an escape makes
  // GNU write the name twice, the second time starting inside $'...'.
  CHECK(tools::quote("'s\n") == "''\\''s'$'\\n'");
  CHECK(tools::quote("\nit's\n") == "'\\n''it'\\''s'$'\\n'");
  CHECK(tools::quote("\nit's") == "''$'\\n''it'\\''s'");
  CHECK(tools::quote("a\nb's") == "'a'$'\\n''b'\\''s'");
}
