#include "quote.hpp"

#include <cstdio>

namespace acp {

namespace {
// Length of the valid UTF-8 sequence at s[i], 0 if it is not one.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
  return n;
}
bool plain_byte(unsigned char c) { return c >= 0x20 && c != 0x7f; }
} // namespace

std::string quote(std::string_view name) {
  bool special = false, has_squote = false;
  for (std::size_t i = 0; i < name.size();) {
    std::size_t n = utf8_len(name, i);
    if (n == 0 || (n == 1 && !plain_byte(static_cast<unsigned char>(name[i])))) {
      special = true;
      break;
    }
    if (name[i] == '\'') has_squote = true;
    i += n;
  }
  if (!special && !has_squote) return "'" + std::string(name) + "'";
  if (!special) return "\"" + std::string(name) + "\"";
  std::string out;
  bool in_plain = false, in_escape = false;
  auto close_all = [&] {
    if (in_plain || in_escape) out += '\'';
    in_plain = in_escape = false;
  };
  for (std::size_t i = 0; i < name.size();) {
    std::size_t n = utf8_len(name, i);
    auto c = static_cast<unsigned char>(name[i]);
    if (n == 0 || (n == 1 && !plain_byte(c))) {
      if (!in_escape) {
        close_all();
        out += "$'";
        in_escape = true;
      }
      const char* named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : nullptr;
      if (named != nullptr) {
        out += named;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\%03o", c);
        out += buf;
      }
      i += 1;
      continue;
    }
    if (c == '\'') {
      close_all();
      out += "\\'";
      i += 1;
      continue;
    }
    if (!in_plain) {
      close_all();
      out += '\'';
      in_plain = true;
    }
    out.append(name.substr(i, n));
    i += n;
  }
  close_all();
  return out;
}

} // namespace acp
