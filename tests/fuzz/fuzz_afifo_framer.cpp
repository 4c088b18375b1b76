// libFuzzer target for afifo's record framer (built by scripts/fuzz-afifo.sh
// with clang, not by CMake). The first bytes choose the framing, the
// --max-record and how reads cut the rest; the rest is the stream. Whatever
// the input, the pieces and the kept partial record put back together are
// the stream, no piece is longer than max_record, and each piece's first /
// last flags say truly where records start and end.
#include "framer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const auto framing = static_cast<afifo::Framing>(data[0] % 3);
  const std::size_t max = 1 + data[1] % 64;
  const std::uint8_t cut_seed = data[2];
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data + 3), size - 3);

  afifo::Framer f(framing, max);
  const std::byte term = f.terminator();
  std::vector<std::byte> all;
  bool in_record = false;
  auto emit = [&](const afifo::Piece& p) {
    require(!p.bytes.empty());
    require(p.bytes.size() <= max);
    if (framing == afifo::Framing::raw) {
      require(p.first && p.last);
    } else {
      require(p.first == !in_record);
      // Only a last piece holds the terminator, and only as its last byte.
      for (std::size_t i = 0; i + 1 < p.bytes.size(); ++i)
        require(p.bytes[i] != term);
      require(p.last == (p.bytes.back() == term));
      in_record = !p.last;
    }
    all.insert(all.end(), p.bytes.begin(), p.bytes.end());
  };
  // Reads of 1..cut_seed%97+1 bytes, varying with the stream's own bytes.
  std::size_t pos = 0;
  std::size_t step = 1 + cut_seed % 97;
  while (pos < in.size()) {
    const std::size_t n = std::min(step, in.size() - pos);
    f.feed(in.subspan(pos, n), emit);
    require(f.partial().size() < max || framing == afifo::Framing::raw);
    pos += n;
    step = 1 + (step * 31 + static_cast<std::size_t>(in[pos - 1])) % (1 + cut_seed % 97);
  }
  for (auto b : f.partial())
    require(b != term);
  require(f.continuing() == in_record);
  all.insert(all.end(), f.partial().begin(), f.partial().end());
  require(all.size() == in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    require(all[i] == in[i]);
  return 0;
}
