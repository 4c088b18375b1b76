#include "display.hpp"

#include <cstdio>

namespace acat {

void Display::number_line(std::string& out) {
  // cat's format: at least 6 digits wide, then a TAB.
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%6llu\t", static_cast<unsigned long long>(++line_));
  out.append(buf, static_cast<std::size_t>(n));
}

// One byte of a line (not its newline).
void Display::put(unsigned char c, std::string& out) {
  if (o_.show_nonprinting) {
    if (c >= 32) {
      if (c < 127) {
        out += static_cast<char>(c);
      } else if (c == 127) {
        out += "^?";
      } else {
        out += "M-";
        if (c >= 128 + 32) {
          if (c < 128 + 127)
            out += static_cast<char>(c - 128);
          else
            out += "^?";
        } else {
          out += '^';
          out += static_cast<char>(c - 128 + 64);
        }
      }
    } else if (c == '\t' && !o_.show_tabs) {
      out += '\t';
    } else {
      out += '^';
      out += static_cast<char>(c + 64);
    }
    return;
  }
  if (c == '\t' && o_.show_tabs)
    out += "^I";
  else
    out += static_cast<char>(c);
}

void Display::feed(std::span<const std::byte> in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 4 + 16);
  for (std::byte b : in) {
    const auto c = static_cast<unsigned char>(b);
    if (pending_cr_) {
      pending_cr_ = false;
      // cat 9.1 with -E: a CR right before the LF is shown ^M, even when the
      // LF starts the next file; any other CR goes out as it is.
      out += c == '\n' ? "^M" : "\r";
    }
    if (c == '\n') {
      ++newlines_;
      if (newlines_ > 0) { // this newline ends an empty line
        if (newlines_ >= 2) {
          newlines_ = 2;
          if (o_.squeeze_blank) continue;
        }
        if (o_.number && !o_.number_nonblank) number_line(out);
      }
      if (o_.show_ends) out += '$';
      out += '\n';
      continue;
    }
    if (newlines_ >= 0 && (o_.number || o_.number_nonblank)) number_line(out);
    newlines_ = -1;
    if (c == '\r' && o_.show_ends && !o_.show_nonprinting) {
      pending_cr_ = true;
      continue;
    }
    put(c, out);
  }
}

void Display::finish(std::string& out) {
  if (pending_cr_) out += '\r';
  pending_cr_ = false;
}

} // namespace acat
