// afifo mux: fan-in. Many FIFOs, files or stdin read at once on one thread,
// one output stream of whole records: a record from one input is never
// split, and records of different inputs never interleave.
#pragma once

#include "framer.hpp"

#include "aio/task.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace afifo {

struct MuxOptions {
  std::vector<std::string> inputs; // paths; "-" is stdin
  std::string output = "-";        // "-" is stdout
  Framing framing = Framing::line;
  std::optional<std::string> tag; // the prefix format ({name}, {index}), if tagging
  bool until_eof = false;         // end when every input had a writer and all left
  std::optional<std::chrono::nanoseconds> idle_timeout;
  bool drop_partial = false;    // --partial=drop
  std::optional<mode_t> create; // mkfifo missing inputs with this mode
  std::size_t max_record = std::size_t{16} << 20;
};

// What a record cut short by its writer leaving ends with (before the
// terminator), under --partial=mark.
inline constexpr std::string_view kPartialMarker = "[afifo: partial record]";

// The tag of input `index` (1-based) named `name`: {name} and {index}
// replaced, every other character as it is.
std::string format_tag(std::string_view format, std::string_view name, std::size_t index);

// Runs mux: 0, 1 after an error (reported on stderr), kBrokenPipe when the
// output's reader went away.
aio::Task<int> run_mux(MuxOptions opts);

} // namespace afifo
