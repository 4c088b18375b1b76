// acp's command line: the options struct and its parse, as GNU cp's
// getopt_long parses it (abbreviated long options, permuted operands, `--`).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace acp {

enum class Deref { Default, Never, CommandLine, Always };
enum class Reflink { Auto, Always, Never };
enum class Sparse { Auto, Always, Never };
enum class Progress { None, Bar, Plain };

struct Preserve {
  bool mode = false;
  bool ownership = false;
  bool timestamps = false;
  bool links = false;
  bool xattr = false;
  // --no-preserve=mode (or =all): new files get 0666 & ~umask, new
  // directories 0777 & ~umask, not the source's mode, as cp.
  bool explicit_no_mode = false;
};

struct Options {
  bool recursive = false;
  Deref deref = Deref::Default;
  Preserve preserve;
  bool copy_contents = false;
  bool no_clobber = false;
  bool force = false;
  bool remove_destination = false; // --remove-destination: replace, never write into
  bool strip_trailing_slashes = false;
  bool update = false;
  bool verbose = false;
  bool interactive = false;
  Reflink reflink = Reflink::Auto;
  Sparse sparse = Sparse::Auto;
  bool fsync = false;
  bool atomic_tree = false;
  Progress progress = Progress::None;
  std::optional<std::string> target_dir;
  bool no_target_dir = false;
  std::vector<std::string> operands;
  // Lines printed (after "acp: ") before the copy starts.
  std::vector<std::string> warnings;

  // Whether a symlink met at `command_line` level (an operand) or in a tree is followed.
  bool follows(bool command_line) const {
    switch (deref) {
    case Deref::Always: return true;
    case Deref::Never: return false;
    case Deref::CommandLine: return command_line;
    case Deref::Default: return !recursive; // cp: -r copies symlinks, a plain cp follows them
    }
    return true;
  }
};

// What parse() decided besides the options.
// Error: a message and exit 1, without the "Try" line (cp's die()).
enum class ParseOutcome { Run, Help, Version, UsageError, Error };

// Parses argv as cp does. On UsageError, `error` holds the message without
// the "acp: " prefix (empty when getopt already printed it).
ParseOutcome parse(int argc, char** argv, Options& opts, std::string& error);

// The io-wq worker cap acp sets (per pool), shown in --help and the man page.
inline constexpr unsigned kIowqWorkers = 2;
// Files in flight at once.
inline constexpr unsigned kFilesInFlight = 64;

const char* help_text();

// Whether operand `s` means standard input: "-", unless a file of that
// name exists (cp knows no "-" and copies such a file: so does acp).
bool is_stdin_operand(const std::string& s);

} // namespace acp
