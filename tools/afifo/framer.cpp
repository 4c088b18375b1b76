#include "framer.hpp"

#include <cassert>

namespace afifo {

bool parse_framing(std::string_view s, Framing& out) noexcept {
  if (s == "line")
    out = Framing::line;
  else if (s == "null")
    out = Framing::null;
  else if (s == "raw")
    out = Framing::raw;
  else
    return false;
  return true;
}

Framer::Framer(Framing framing, std::size_t max_record)
    : framing_(framing), term_(framing == Framing::null ? std::byte{0} : std::byte{'\n'}),
      max_(max_record) {
  assert(max_record >= 1);
}

} // namespace afifo
