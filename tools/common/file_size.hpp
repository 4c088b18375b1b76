// Whether a regular file's st_size says how much a read will return.
#pragma once

#include <cstdint>

namespace tools {

// False for size 0 (procfs files are all 0 and yet have content) and for any
// file on procfs or sysfs (sysfs says 4096 for a 4-byte file): such a file
// is read as a stream, until read() returns 0, as cat, tail and cp do.
bool size_is_trusted(int fd, std::uint64_t st_size);

} // namespace tools
