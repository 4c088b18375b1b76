#include "quote.hpp"

#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cwctype>
#include <langinfo.h>
#include <locale.h>

namespace tools {
namespace {

// The user's LC_CTYPE (LC_ALL, LC_CTYPE, LANG), as setlocale(LC_ALL, "")
// would make it, without changing the process's global locale: what GNU
// may print as it is depends on it (é is printable in C.UTF-8, \303\251
// in C).
struct Ctype {
  locale_t loc = nullptr;
  bool utf8 = false;
  Ctype() {
    loc = newlocale(LC_CTYPE_MASK, "", nullptr);
    if (loc == nullptr) loc = newlocale(LC_CTYPE_MASK, "C", nullptr);
    if (loc != nullptr) utf8 = std::strcmp(nl_langinfo_l(CODESET, loc), "UTF-8") == 0;
  }
  Ctype(const Ctype&) = delete;
  Ctype& operator=(const Ctype&) = delete;
  ~Ctype() {
    if (loc != nullptr) freelocale(loc);
  }
};

const Ctype& ctype() {
  static const Ctype c;
  return c;
}

// One character of a name, and what quoting must do with it.
struct Unit {
  enum Kind { Plain, Escaped, Apostrophe } kind;
  std::size_t len; // bytes
};

// Length of the UTF-8 sequence at s[i] and its code point; 0 if invalid.
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& w) {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  w = b & (0x7f >> n);
  for (std::size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c >> 6) != 2) return 0;
    w = (w << 6) | (c & 0x3f);
  }
  // Overlong forms, surrogates and values past Unicode are invalid, as
  // glibc's decoder says.
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (w < kMin[n] || w > 0x10ffff || (w >= 0xd800 && w <= 0xdfff)) return 0;
  return n;
}

Unit unit_at(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c == '\'') return {Unit::Apostrophe, 1};
  if (c < 0x80) return {c >= 0x20 && c < 0x7f ? Unit::Plain : Unit::Escaped, 1};
  const Ctype& ct = ctype();
  if (ct.loc == nullptr) return {Unit::Escaped, 1};
  if (!ct.utf8) return {isprint_l(c, ct.loc) != 0 ? Unit::Plain : Unit::Escaped, 1};
  char32_t w = 0;
  std::size_t n = decode_utf8(s, i, w);
  if (n == 0) return {Unit::Escaped, 1}; // each invalid byte on its own
  return {iswprint_l(static_cast<wint_t>(w), ct.loc) != 0 ? Unit::Plain : Unit::Escaped, n};
}

void escape_byte(std::string& out, unsigned char c) {
  switch (c) {
  case '\a': out += "\\a"; return;
  case '\b': out += "\\b"; return;
  case '\f': out += "\\f"; return;
  case '\n': out += "\\n"; return;
  case '\r': out += "\\r"; return;
  case '\t': out += "\\t"; return;
  case '\v': out += "\\v"; return;
  default: break;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\%03o", c);
  out += buf;
}

// Characters that may stand in double quotes as they are, next to an
// apostrophe: GNU then writes "it's" rather than 'it'\''s'. Shell
// specials ($ ` \ " ! ...) and escapes rule that form out.
bool fine_in_double_quotes(std::string_view s, std::size_t i, const Unit& u) {
  if (u.kind == Unit::Apostrophe) return true;
  if (u.kind == Unit::Escaped) return false;
  if (u.len > 1) return true; // a printable multibyte character
  char c = s[i];
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
  case ' ':
  case '%':
  case '+':
  case ',':
  case '-':
  case '.':
  case '/':
  case ':':
  case ']':
  case '_':
  case '@': return true;
  case '#':
  case '~': return i == 0;
  case '{':
  case '}': return s.size() == 1;
  default: return false;
  }
}

// Single quotes throughout; an apostrophe as '\''; escapes in $'...',
// closed and reopened around them: 'a'$'\n''b'. `in_escape`: whether a
// $'...' counts as open at the start (see quote()); left telling whether
// one is open at the end.
std::string single_quoted(std::string_view name, bool& in_escape) {
  std::string out = "'";
  for (std::size_t i = 0; i < name.size();) {
    Unit u = unit_at(name, i);
    switch (u.kind) {
    case Unit::Apostrophe:
      out += "'\\''";
      in_escape = false;
      break;
    case Unit::Escaped:
      if (!in_escape) out += "'$'";
      in_escape = true;
      for (std::size_t k = 0; k < u.len; ++k)
        escape_byte(out, static_cast<unsigned char>(name[i + k]));
      break;
    case Unit::Plain:
      if (in_escape) out += "''";
      in_escape = false;
      out.append(name.substr(i, u.len));
      break;
    }
    i += u.len;
  }
  out += '\'';
  return out;
}

} // namespace

std::string quote(std::string_view name) {
  bool apostrophe = false, double_ok = true;
  for (std::size_t i = 0; i < name.size();) {
    Unit u = unit_at(name, i);
    apostrophe = apostrophe || u.kind == Unit::Apostrophe;
    double_ok = double_ok && fine_in_double_quotes(name, i, u);
    i += u.len;
  }
  if (apostrophe && double_ok) return "\"" + std::string(name) + "\"";
  bool in_escape = false;
  // coreutils 9.1 (Debian 12) writes such a name twice, and its second
  // pass starts in the first's $'...' state: a name that ends in an escape
  // gets '' (or loses its $') at the start; "it's\n" is '''it'\''s'$'\n'.
  // Same bytes as tail and cat here, so the same quirk.
  if (apostrophe) (void)single_quoted(name, in_escape);
  return single_quoted(name, in_escape);
}

std::string quote_if_needed(std::string_view name) {
  if (name.empty()) return quote(name);
  for (std::size_t i = 0; i < name.size();) {
    Unit u = unit_at(name, i);
    if (u.kind != Unit::Plain) return quote(name);
    if (u.len == 1) {
      switch (name[i]) {
      case ' ':
      case '!':
      case '"':
      case '$':
      case '&':
      case '(':
      case ')':
      case '*':
      case ';':
      case '<':
      case '=':
      case '>':
      case '?':
      case '[':
      case '\\':
      case '^':
      case '`':
      case '|':
      case ':': return quote(name);
      case '#':
      case '~':
        if (i == 0) return quote(name);
        break;
      case '{':
      case '}':
        if (name.size() == 1) return quote(name);
        break;
      default: break;
      }
    }
    i += u.len;
  }
  return std::string(name);
}

} // namespace tools

namespace tools {

std::string quote_value(std::string_view value) {
  const bool utf8 = ctype().utf8;
  const std::string_view open = utf8 ? "\xe2\x80\x98" : "'";
  const std::string_view close = utf8 ? "\xe2\x80\x99" : "'";
  std::string out(open);
  for (std::size_t i = 0; i < value.size();) {
    if (value.substr(i).starts_with(close)) {
      // The closing quote inside: escaped, so the value cannot end early.
      out += '\\';
      out.append(close);
      i += close.size();
      continue;
    }
    Unit u = unit_at(value, i);
    if (value[i] == '\\') {
      out += "\\\\";
    } else if (u.kind == Unit::Escaped) {
      for (std::size_t k = 0; k < u.len; ++k)
        escape_byte(out, static_cast<unsigned char>(value[i + k]));
    } else {
      out.append(value.substr(i, u.len));
    }
    i += u.len;
  }
  out.append(close);
  return out;
}

} // namespace tools
