// What every tool does with fds 0-2 before and after its run, as GNU tools
// do: a closed one is never taken by a file or the ring, and a failed write
// to stdout is an error.
#pragma once

#include <string>
#include <string_view>

namespace tools {

// A closed stdin/stdout/stderr would be taken by the next fd opened (the
// ring, a file being copied), and the tool would write its output into
// that. Each closed one is held by /dev/null opened the wrong way round,
// so using it fails with EBADF as it does for cat and cp. Returns a mask of
// the ones that were closed (1: stdin, 2: stdout, 4: stderr).
unsigned reserve_std_fds();

// Writes `text` (--help, --version) to stdout and flushes: a write error
// (a full disk, a closed stdout) is reported as "TOOL: write error: ..."
// and gives 1, else 0.
int print_or_fail(std::string_view tool, const std::string& text);

// Flushes stdout at the end of a run: false (after "TOOL: write error:
// ...") if anything written to it through stdio was lost.
bool close_stdout(std::string_view tool);

} // namespace tools
