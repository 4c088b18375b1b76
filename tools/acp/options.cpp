#include "options.hpp"

#include "quote.hpp"

#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <cstring>

namespace acp {

namespace {

enum LongOnly {
  kPreserve = 256,
  kNoPreserve,
  kReflink,
  kSparse,
  kFsync,
  kProgress,
  kAtomicTree,
  kCopyContents,
  kHelp,
  kVersion,
  kUpdate,
  kRemoveDestination,
  kStripTrailingSlashes,
};

constexpr int kInvalid = -1, kAmbiguous = -2;

// GNU's argmatch: an exact name, or an unambiguous abbreviation of one;
// kInvalid or kAmbiguous (an empty argument is an abbreviation of all).
int match(const char* arg, std::initializer_list<const char*> names) {
  int i = 0, found = kInvalid, hits = 0;
  for (const char* n : names) {
    if (std::strcmp(arg, n) == 0) return i;
    if (std::strncmp(arg, n, std::strlen(arg)) == 0) {
      found = i;
      ++hits;
    }
    ++i;
  }
  return hits > 1 ? kAmbiguous : found;
}

std::string fmt_arg(int why, const std::string& arg, const char* option) {
  return std::string(why == kAmbiguous ? "ambiguous" : "invalid") + " argument " +
         tools::quote_value(arg) + " for " + tools::quote_value(option);
}

// argmatch_die's message, as cp prints it (the "Try" line follows).
std::string bad_argument(int why, const std::string& arg, const char* option,
                         std::initializer_list<const char*> names) {
  std::string m = fmt_arg(why, arg, option);
  m += "\nValid arguments are:";
  for (const char* n : names)
    m += std::string("\n  - ") + tools::quote_value(n);
  return m;
}

// As cp's getopt: --preserve's and --no-preserve's names, in cp's order.
#define ACP_PRESERVE_NAMES "mode", "timestamps", "ownership", "links", "context", "xattr", "all"

bool set_preserve(Preserve& p, const char* list, bool on, std::string& error, const char* option) {
  std::string s(list);
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t comma = s.find(',', start);
    std::string word =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int k = match(word.c_str(), {ACP_PRESERVE_NAMES});
    switch (k) {
    case 0:
      p.mode = on;
      p.explicit_no_mode = !on;
      break;
    case 1: p.timestamps = on; break;
    case 2: p.ownership = on; break;
    case 3: p.links = on; break;
    case 4: break; // SELinux context: not kept (no SELinux here); accepted as cp -a does
    case 5: p.xattr = on; break;
    case 6:
      p.mode = p.ownership = p.timestamps = p.links = p.xattr = on;
      p.explicit_no_mode = !on;
      break;
    default: error = bad_argument(k, word, option, {ACP_PRESERVE_NAMES}); return false;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return true;
}

} // namespace

bool is_stdin_operand(const std::string& s) {
  return s == "-" && ::faccessat(AT_FDCWD, "-", F_OK, AT_SYMLINK_NOFOLLOW) != 0;
}

const char* help_text() {
  return R"(Usage: acp [OPTION]... [-T] SOURCE DEST
  or:  acp [OPTION]... SOURCE... DIRECTORY
  or:  acp [OPTION]... -t DIRECTORY SOURCE...
Copy SOURCE to DEST, or multiple SOURCE(s) to DIRECTORY, as cp does, with
every file written where no one sees it and put under its name only when
complete (a directory acp creates is filled under a hidden .acp-* name and
renamed when its files are). One thread on io_uring; many files at once.

  -a, --archive                same as -dR --preserve=all
      --atomic-tree            with -r and a DEST that does not exist: build the
                                 tree under a hidden name and rename it into place
      --copy-contents          copy contents of special files when recursive
  -d                           same as --no-dereference --preserve=links
  -f, --force                  accepted for cp compatibility (a copy replaces the
                                 destination by a rename, so it is never opened)
      --fsync                  make every copied file and the directories naming
                                 them durable before exiting 0
  -i, --interactive            prompt before overwrite (answers read from stdin)
  -H                           follow command-line symbolic links in SOURCE
  -L, --dereference            always follow symbolic links in SOURCE
  -n, --no-clobber             do not overwrite an existing file
  -P, --no-dereference         never follow symbolic links in SOURCE
  -p                           same as --preserve=mode,ownership,timestamps
      --preserve[=ATTR_LIST]   preserve the specified attributes (default:
                                 mode,ownership,timestamps); also links, xattr, all
      --no-preserve=ATTR_LIST  don't preserve the specified attributes
      --progress[=bar|plain]   show progress on stderr: bar (default) redrawn
                                 in place on a terminal, no ANSI codes when
                                 NO_COLOR is set, plain lines when stderr is not
                                 a terminal; plain: one line a second,
                                 bytes=N/T files=N/T rate=B/s eta=SECONDS
  -R, -r, --recursive          copy directories recursively
      --remove-destination     replace each existing destination, even one that
                                 is not a regular file (never write into it)
      --reflink[=WHEN]         clone data where the file system can: auto
                                 (default), always, never
      --sparse=WHEN            keep holes: auto (default, holes of the source),
                                 always (blocks of zeros too), never
      --strip-trailing-slashes  remove any trailing slashes from each SOURCE
                                 copied into a directory
  -t, --target-directory=DIRECTORY  copy all SOURCE arguments into DIRECTORY
  -T, --no-target-directory    treat DEST as a normal file
  -u, --update                 copy only when the SOURCE file is newer than the
                                 destination file or when it is missing
  -v, --verbose                explain what is being done
  -Z, --context[=CTX]          accepted and ignored (no SELinux), as cp there
      --help                   display this help and exit
      --version                output version information and exit

Limits: 64 files in flight; the kernel's io-wq workers are capped at 2 per
pool (bounded and unbounded), so a copy runs on 1 user thread plus at most
4 iou-wrk threads.
Exit status: 0 if all went well, 1 on any error (usage errors too, as cp);
death by SIGINT/SIGTERM after removing the file in progress.
)";
}

ParseOutcome parse(int argc, char** argv, Options& opts, std::string& error) {
  static const option kLong[] = {
      {"archive", no_argument, nullptr, 'a'},
      {"atomic-tree", no_argument, nullptr, kAtomicTree},
      {"context", optional_argument, nullptr, 'Z'},
      {"copy-contents", no_argument, nullptr, kCopyContents},
      {"dereference", no_argument, nullptr, 'L'},
      {"force", no_argument, nullptr, 'f'},
      {"fsync", no_argument, nullptr, kFsync},
      {"interactive", no_argument, nullptr, 'i'},
      {"no-clobber", no_argument, nullptr, 'n'},
      {"no-dereference", no_argument, nullptr, 'P'},
      {"no-preserve", required_argument, nullptr, kNoPreserve},
      {"no-target-directory", no_argument, nullptr, 'T'},
      {"preserve", optional_argument, nullptr, kPreserve},
      {"progress", optional_argument, nullptr, kProgress},
      {"recursive", no_argument, nullptr, 'R'},
      {"reflink", optional_argument, nullptr, kReflink},
      {"remove-destination", no_argument, nullptr, kRemoveDestination},
      {"sparse", required_argument, nullptr, kSparse},
      {"strip-trailing-slashes", no_argument, nullptr, kStripTrailingSlashes},
      {"target-directory", required_argument, nullptr, 't'},
      {"update", optional_argument, nullptr, kUpdate},
      {"verbose", no_argument, nullptr, 'v'},
      {"help", no_argument, nullptr, kHelp},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  // getopt prints its own errors with argv[0]: make that "acp".
  std::vector<char*> args(argv, argv + argc);
  std::string name = "acp";
  if (!args.empty()) args[0] = name.data();
  args.push_back(nullptr);
  optind = 0; // a full reset, so that parse can run more than once (tests)
  opterr = 1;
  int c;
  while ((c = getopt_long(argc, args.data(), "adfHiLnPpRrt:TuvZ", kLong, nullptr)) != -1) {
    switch (c) {
    case 'a':
      opts.recursive = true;
      opts.deref = Deref::Never;
      set_preserve(opts.preserve, "all", true, error, "--preserve");
      break;
    case 'd':
      opts.deref = Deref::Never;
      opts.preserve.links = true;
      break;
    case 'f': opts.force = true; break;
    case 'H': opts.deref = Deref::CommandLine; break;
    case 'i':
      opts.interactive = true;
      opts.no_clobber = false;
      break;
    case 'L': opts.deref = Deref::Always; break;
    case 'n':
      opts.no_clobber = true;
      opts.interactive = false;
      break;
    case 'P': opts.deref = Deref::Never; break;
    case 'p':
      set_preserve(opts.preserve, "mode,ownership,timestamps", true, error, "--preserve");
      break;
    case 'R':
    case 'r': opts.recursive = true; break;
    case 't':
      if (opts.target_dir) {
        error = "multiple target directories specified";
        return ParseOutcome::Error; // cp's die(): no "Try" line
      }
      opts.target_dir = optarg;
      break;
    case 'T': opts.no_target_dir = true; break;
    case 'u': opts.update = true; break;
    case kUpdate:
      if (optarg == nullptr || match(optarg, {"older"}) == 0) {
        opts.update = true;
      } else if (match(optarg, {"all", "none"}) == 0) {
        opts.update = false;
      } else if (match(optarg, {"all", "none"}) == 1) {
        opts.no_clobber = true;
      } else {
        error = bad_argument(kInvalid, optarg, "--update", {"all", "none", "older"});
        return ParseOutcome::UsageError;
      }
      break;
    case 'v': opts.verbose = true; break;
    case 'Z':
      // SELinux contexts: no SELinux here, so -Z is a no-op as in cp built
      // with SELinux support on a kernel without it; a named context is
      // warned about as cp warns.
      if (optarg != nullptr)
        opts.warnings.emplace_back(
            "warning: ignoring --context; it requires an SELinux-enabled kernel");
      break;
    case kPreserve:
      if (!set_preserve(opts.preserve, optarg ? optarg : "mode,ownership,timestamps", true, error,
                        "--preserve"))
        return ParseOutcome::UsageError;
      break;
    case kNoPreserve:
      if (!set_preserve(opts.preserve, optarg, false, error, "--no-preserve"))
        return ParseOutcome::UsageError;
      break;
    case kReflink: {
      int k = optarg ? match(optarg, {"auto", "always", "never"}) : 1;
      if (k < 0) {
        error = bad_argument(k, optarg, "--reflink", {"auto", "always", "never"});
        return ParseOutcome::UsageError;
      }
      opts.reflink = k == 0 ? Reflink::Auto : k == 1 ? Reflink::Always : Reflink::Never;
      break;
    }
    case kSparse: {
      int k = match(optarg, {"never", "auto", "always"}); // cp's order, for its message
      if (k < 0) {
        error = bad_argument(k, optarg, "--sparse", {"never", "auto", "always"});
        return ParseOutcome::UsageError;
      }
      opts.sparse = k == 0 ? Sparse::Never : k == 1 ? Sparse::Auto : Sparse::Always;
      break;
    }
    case kProgress: {
      int k = optarg ? match(optarg, {"bar", "plain"}) : 0;
      if (k < 0) {
        error = bad_argument(k, optarg, "--progress", {"bar", "plain"});
        return ParseOutcome::UsageError;
      }
      opts.progress = k == 0 ? Progress::Bar : Progress::Plain;
      break;
    }
    case kFsync: opts.fsync = true; break;
    case kRemoveDestination: opts.remove_destination = true; break;
    case kStripTrailingSlashes: opts.strip_trailing_slashes = true; break;
    case kAtomicTree: opts.atomic_tree = true; break;
    case kCopyContents: opts.copy_contents = true; break;
    case kHelp: return ParseOutcome::Help;
    case kVersion: return ParseOutcome::Version;
    default: error.clear(); return ParseOutcome::UsageError; // getopt said why
    }
  }
  // getopt permuted `args` (operands last), not argv.
  for (int i = optind; i < argc; ++i)
    opts.operands.emplace_back(args[static_cast<std::size_t>(i)]);
  // cp's checks, in cp's order.
  if (opts.reflink == Reflink::Always && opts.sparse != Sparse::Auto) {
    error = "--reflink can be used only with --sparse=auto";
    return ParseOutcome::UsageError;
  }
  if (opts.operands.empty()) {
    error = "missing file operand";
    return ParseOutcome::UsageError;
  }
  if (opts.operands.size() == 1 && !opts.target_dir) {
    error = "missing destination file operand after " + tools::quote(opts.operands[0]);
    return ParseOutcome::UsageError;
  }
  if (opts.target_dir && opts.no_target_dir) {
    error = "cannot combine --target-directory (-t) and --no-target-directory (-T)";
    return ParseOutcome::Error; // cp dies here, without its "Try" line
  }
  if (opts.no_target_dir && opts.operands.size() > 2) {
    error = "extra operand " + tools::quote(opts.operands[2]);
    return ParseOutcome::UsageError;
  }
  if (opts.atomic_tree && !opts.recursive) {
    error = "--atomic-tree needs -r";
    return ParseOutcome::UsageError;
  }
  return ParseOutcome::Run;
}

} // namespace acp
