// cat's display options (-A -b -e -E -t -T --number --squeeze-blank
// --show-nonprinting): the bytes of plain concatenation as GNU cat shows
// them. One state for all inputs, as cat's: numbering, squeezing and a CR
// waiting for its LF go on across files.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace acat {

struct DisplayOptions {
  bool number = false;           // --number (cat's -n; acat's -n is tail's)
  bool number_nonblank = false;  // -b, over --number
  bool squeeze_blank = false;    // --squeeze-blank (cat's -s)
  bool show_ends = false;        // -E: '$' before each newline
  bool show_tabs = false;        // -T: TAB as ^I
  bool show_nonprinting = false; // cat's -v: ^X and M- notation
  bool any() const noexcept {
    return number || number_nonblank || squeeze_blank || show_ends || show_tabs || show_nonprinting;
  }
};

class Display {
public:
  explicit Display(DisplayOptions o) : o_(o) {}
  // Appends to `out` what cat shows for `in`, the next bytes of the input.
  void feed(std::span<const std::byte> in, std::string& out);
  // The end of all input: a CR held back (it might have preceded an LF).
  void finish(std::string& out);

private:
  void number_line(std::string& out);
  void put(unsigned char c, std::string& out);
  DisplayOptions o_;
  // cat's count: -1 inside a line, 0 at a line's start, 1 after an empty
  // line, 2 after two or more (the ones -s drops).
  int newlines_ = 0;
  std::uint64_t line_ = 0;
  bool pending_cr_ = false; // -E without -v: "\r\n" is shown "^M$"
};

} // namespace acat
