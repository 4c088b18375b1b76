#include "options.hpp"

#include "quote.hpp"

#include <getopt.h>
#include <locale.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace acat {

namespace {

bool c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// a * b, or false when it does not fit.
bool mul(std::uint64_t& a, std::uint64_t b) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) return false;
  a *= b;
  return true;
}

} // namespace

// The grammar of tail's -n and -c in coreutils 9.1 (Debian 12), as tried
// side by side: blanks, then digits (none: a suffix alone counts 1), then
// one of b k K m M G T P E Z Y, the last ten followed by nothing (powers of
// 1024), iB (1024) or B or D (1000). A leading '-' is dropped; a leading
// '+' means from the start and is also read as the number's sign (so
// "+ 5" is refused, " +5" is 5 from the end). Too big is an error.
std::optional<Count> parse_count(std::string_view text, CountError* why) {
  auto fail = [&](CountError e) -> std::optional<Count> {
    if (why != nullptr) *why = e;
    return std::nullopt;
  };
  Count c;
  if (!text.empty() && text.front() == '+') c.from_start = true;
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  const std::string_view whole = text;
  std::size_t i = 0;
  while (i < text.size() && c_space(text[i]))
    ++i;
  if (i < text.size() && text[i] == '-') return fail(CountError::Invalid);
  if (i < text.size() && text[i] == '+') ++i;
  const std::size_t digits_at = i;
  std::uint64_t n = 0;
  bool overflow = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (!mul(n, 10) || n > std::numeric_limits<std::uint64_t>::max() - (text[i] - '0'))
      overflow = true;
    else
      n += static_cast<std::uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == digits_at) {
    // No number: a valid suffix right at the start stands for 1 of it.
    static constexpr std::string_view kFirst = "bkKmMGTPEZY";
    if (whole.empty() || kFirst.find(whole.front()) == std::string_view::npos)
      return fail(CountError::Invalid);
    n = 1;
    i = 0;
  }
  std::string_view suffix = text.substr(i);
  if (!suffix.empty()) {
    static constexpr std::string_view kPowers = "kKmMGTPEZY";
    if (suffix.front() == 'b') {
      overflow = overflow || !mul(n, 512);
      suffix.remove_prefix(1);
    } else if (auto at = kPowers.find(suffix.front()); at != std::string_view::npos) {
      // k K: 1; m M: 2; then G T P E Z Y: 3 to 8.
      int power = at < 2 ? 1 : at < 4 ? 2 : static_cast<int>(at) - 1;
      std::uint64_t base = 1024;
      suffix.remove_prefix(1);
      if (suffix.starts_with("iB")) {
        suffix.remove_prefix(2);
      } else if (!suffix.empty() && (suffix.front() == 'B' || suffix.front() == 'D')) {
        base = 1000;
        suffix.remove_prefix(1);
      }
      for (int k = 0; k < power; ++k)
        overflow = overflow || !mul(n, base);
    } else {
      return fail(CountError::Invalid);
    }
    if (!suffix.empty()) return fail(CountError::Invalid);
  }
  if (overflow) return fail(CountError::Overflow);
  c.n = n;
  return c;
}

// coreutils' xstrtod with cl_strtod: the number in the current locale, or
// failing that in C's; an overflow is refused, an underflow to 0 is not
// (1e-400 is 0; 1e-310, inexact and not 0, is refused).
std::optional<std::chrono::nanoseconds> parse_seconds(std::string_view text) {
  const std::string s(text);
  const char* str = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(str, &end);
  int err = errno;
  if (*end != '\0') {
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
    char* c_end = nullptr;
    errno = 0;
    double c_v = c_locale != nullptr ? strtod_l(str, &c_end, c_locale) : 0;
    if (c_locale != nullptr && c_end > end) {
      v = c_v;
      end = c_end;
      err = errno;
    }
  }
  if (end == str || *end != '\0') return std::nullopt;
  if (err == ERANGE && v != 0) return std::nullopt;
  if (!(v >= 0)) return std::nullopt; // negative, or NaN
  // As long as wanted: past ~292 years of nanoseconds, the most there is.
  constexpr double kMax = 9e18;
  const double ns = v * 1e9;
  return std::chrono::nanoseconds(ns >= kMax ? static_cast<std::int64_t>(kMax)
                                             : static_cast<std::int64_t>(ns));
}

// coreutils' xnumtoumax(text, 10, 0, UINTMAX_MAX, "", ...): strtoumax's
// syntax (blanks, '+', digits), no '-' anywhere, nothing after the digits.
std::optional<std::uint64_t> parse_unchanged_stats(std::string_view text, CountError* why) {
  if (why != nullptr) *why = CountError::Invalid;
  std::size_t i = 0;
  while (i < text.size() && c_space(text[i]))
    ++i;
  if (i < text.size() && text[i] == '+') ++i;
  const std::size_t digits_at = i;
  std::uint64_t n = 0;
  bool overflow = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    const auto d = static_cast<std::uint64_t>(text[i] - '0');
    if (!mul(n, 10) || n > std::numeric_limits<std::uint64_t>::max() - d)
      overflow = true;
    else
      n += d;
    ++i;
  }
  if (i == digits_at || i != text.size()) return std::nullopt;
  if (overflow) {
    if (why != nullptr) *why = CountError::Overflow;
    return std::nullopt;
  }
  return n;
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  std::string number(text.substr(0, i));
  std::string_view unit = text.substr(i);
  if (number.empty() || number == ".") return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (ec != std::errc{} || end != number.data() + number.size()) return std::nullopt;
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else if (unit == "d")
    scale = 86400e9;
  else
    return std::nullopt;
  double ns = v * scale;
  if (!std::isfinite(ns) || ns > 1e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

} // namespace acat

namespace acat {
namespace {

enum LongOnly {
  kFollow = 256,
  kRetry,
  kPrefix,
  kPid,
  kIdleTimeout,
  kMaxUnchangedStats,
  kNumber,
  kSqueezeBlank,
  kShowNonprinting,
  kHelp,
  kVersion
};

bool set_count(Options& o, Mode mode, std::string_view text, std::string& error) {
  CountError why{};
  auto c = parse_count(text, &why);
  if (!c) {
    // tail names the value without the '-' it dropped.
    if (text.starts_with('-')) text.remove_prefix(1);
    error = std::string("invalid number of ") + (mode == Mode::Lines ? "lines" : "bytes") + ": " +
            tools::quote_value(text);
    if (why == CountError::Overflow) error += std::string(": ") + std::strerror(EOVERFLOW);
    return false;
  }
  o.mode = mode;
  o.count = *c;
  return true;
}

// tail's obsolete first argument, -NUM[bcl][f] or +NUM[bcl][f], taken only
// where tail takes it: before at most one operand. False when it is not
// one; `error` is set when it is one with a number too big.
bool obsolete_count(int argc, char** argv, Options& o, std::string& error) {
  // tail's rule: one option string and at most one operand, which may
  // follow a "--".
  const bool one_operand = argc == 3 && !(argv[2][0] == '-' && argv[2][1] != '\0');
  const bool after_dashes = (argc == 3 || argc == 4) && std::string_view(argv[2]) == "--";
  if (argc != 2 && !one_operand && !after_dashes) return false;
  std::string_view a = argv[1];
  if (a.empty() || (a[0] != '-' && a[0] != '+')) return false;
  // "-" is stdin and "-c" wants its argument; anything else after the sign
  // may be the obsolete form, even with no digits ("-l", "+c": 10 units).
  if (a[0] == '-' && (a.size() == 1 || a == "-c")) return false;
  std::size_t i = 1;
  while (i < a.size() && a[i] >= '0' && a[i] <= '9')
    ++i;
  std::string digits(a.substr(1, i - 1));
  Mode mode = Mode::Lines;
  std::uint64_t unit = 1;
  const bool unit_given = i < a.size() && (a[i] == 'b' || a[i] == 'c' || a[i] == 'l');
  if (unit_given) {
    if (a[i] != 'l') mode = Mode::Bytes;
    if (a[i] == 'b') unit = 512;
    ++i;
  }
  bool forever = i < a.size() && a[i] == 'f';
  if (forever) ++i;
  if (i != a.size()) return false;
  // With neither number nor unit ("-f", "+") it is acat's own -f or a file
  // named "+": acat without a count is cat, not tail's 10 lines.
  if (digits.empty() && !unit_given) return false;
  if (digits.empty()) digits = "10"; // tail's default count, of the unit
  CountError why{};
  auto c = parse_count(digits, &why);
  if (!c) {
    if (why == CountError::Overflow)
      error = "invalid number: " + tools::quote_value(a) + ": " + std::strerror(ERANGE);
    return why == CountError::Overflow;
  }
  const std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  o.mode = mode;
  o.count.n = c->n > kMax / unit ? kMax : c->n * unit;
  o.count.from_start = a[0] == '+';
  if (forever) o.follow = Follow::Descriptor;
  return true;
}

} // namespace

const char* help_text() {
  return R"(Usage: acat [OPTION]... [FILE]...
Concatenate files, FIFOs and stdin to stdout; show their tail; follow them.
One thread, on io_uring: no helper threads, no busy waiting.
With no FILE, or when FILE is -, read standard input.

  -n, --lines=[+]N         the last N lines, or from line N on with +N
  -c, --bytes=[+]N         the last N bytes, or from byte N on with +N
  -f, --follow[={name|descriptor}]
                           print what is appended; -f, --follow and
                             --follow=descriptor follow the open file,
                             --follow=name reopens the name when replaced
  -F                       same as --follow=name --retry
      --max-unchanged-stats=N
                           with --follow=name, reopen a FILE which has not
                             changed size after N (default 5) iterations
                             to see if it has been unlinked or renamed
                             (accepted and checked; acat looks at the name
                             at every iteration, so it changes nothing)
      --retry              keep trying to open a file that is missing or goes
                             away (with --follow=name)
      --pid=PID            with -f, end after process PID ends
      --idle-timeout=DURATION
                           with -f, end after DURATION without input
                             (N[.M][ms|s|m|h|d], seconds by default)
      --prefix             start every line with its source's name
  -q, --quiet, --silent    never print ==> name <== headers
  -v, --verbose            always print ==> name <== headers
  -s, --sleep-interval=N   with -f, sleep for approximately N seconds
                             (default 1.0) between iterations where acat
                             polls (no inotify, --retry of a missing file
                             by descriptor, a name that is a symbolic
                             link); with inotify, and with --pid=P (a
                             pidfd), acat is woken at once: no effect
  -u                       (ignored, as by cat)
  -z, --zero-terminated    line delimiter is NUL, not newline
      --help               display this help and exit
      --version            output version information and exit

cat's display options, for plain concatenation (without -n, -c, -f, -F,
--prefix); cat's -n, -s and -v are tail's here, so those are long only,
and -b alone before at most one FILE is tail's obsolete -b (-c 5120):
  -A, --show-all           equivalent to --show-nonprinting -ET
  -b, --number-nonblank    number nonempty output lines, overrides --number
  -e                       equivalent to --show-nonprinting -E
  -E, --show-ends          display $ at end of each line
      --number             number all output lines (cat's -n)
      --squeeze-blank      suppress repeated empty output lines (cat's -s)
  -t                       equivalent to --show-nonprinting -T
  -T, --show-tabs          display TAB characters as ^I
      --show-nonprinting   use ^ and M- notation, except for LFD and TAB
                             (cat's -v)

N may have a multiplier suffix: b 512, kB 1000, K 1024, MB 1000*1000,
M 1024*1024, and so on for G, T, P, E, Z, Y, R, Q; binary prefixes can be
used too: KiB=K, MiB=M, and so on. -NUM and +NUM as the first argument
before at most one FILE mean -n NUM and -n +NUM, as in tail.

Exit status: 0 if all went well, 1 on any error (usage errors too, as tail);
death by SIGINT or SIGTERM when interrupted.
)";
}

ParseOutcome parse(int argc, char** argv, Options& o, std::string& error) {
  static const option kLong[] = {
      {"lines", required_argument, nullptr, 'n'},
      {"bytes", required_argument, nullptr, 'c'},
      {"follow", optional_argument, nullptr, kFollow},
      {"retry", no_argument, nullptr, kRetry},
      {"prefix", no_argument, nullptr, kPrefix},
      {"quiet", no_argument, nullptr, 'q'},
      {"silent", no_argument, nullptr, 'q'},
      {"verbose", no_argument, nullptr, 'v'},
      {"pid", required_argument, nullptr, kPid},
      {"idle-timeout", required_argument, nullptr, kIdleTimeout},
      {"zero-terminated", no_argument, nullptr, 'z'},
      {"sleep-interval", required_argument, nullptr, 's'},
      {"max-unchanged-stats", required_argument, nullptr, kMaxUnchangedStats},
      {"show-all", no_argument, nullptr, 'A'},
      {"number-nonblank", no_argument, nullptr, 'b'},
      {"show-ends", no_argument, nullptr, 'E'},
      {"show-tabs", no_argument, nullptr, 'T'},
      {"number", no_argument, nullptr, kNumber},
      {"squeeze-blank", no_argument, nullptr, kSqueezeBlank},
      {"show-nonprinting", no_argument, nullptr, kShowNonprinting},
      {"help", no_argument, nullptr, kHelp},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  // getopt prints its own errors with argv[0]: make that "acat".
  std::vector<char*> args(argv, argv + argc);
  std::string name = "acat";
  if (!args.empty()) args[0] = name.data();
  args.push_back(nullptr);
  optind = 0; // a full reset, so that parse can run more than once (tests)
  opterr = 1;
  if (obsolete_count(argc, args.data(), o, error)) {
    if (!error.empty()) return ParseOutcome::BadValue;
    args.erase(args.begin() + 1);
    --argc;
  }
  std::string pid_text, idle_text;
  bool have_pid = false, have_idle = false;
  int c;
  while ((c = getopt_long(argc, args.data(), "c:n:fFqs:vuzAbeEtT0123456789", kLong, nullptr)) !=
         -1) {
    switch (c) {
    case 'n':
      if (!set_count(o, Mode::Lines, optarg, error)) return ParseOutcome::BadValue;
      break;
    case 'c':
      if (!set_count(o, Mode::Bytes, optarg, error)) return ParseOutcome::BadValue;
      break;
    case 'f': o.follow = Follow::Descriptor; break;
    case 'F':
      o.follow = Follow::Name;
      o.retry = true;
      break;
    case kFollow: {
      // An unambiguous abbreviation, as tail's argmatch takes it.
      std::string_view how = optarg != nullptr ? optarg : "descriptor";
      const bool d = !how.empty() && std::string_view("descriptor").starts_with(how);
      const bool n = !how.empty() && std::string_view("name").starts_with(how);
      if (!d && !n) {
        error = "invalid argument '" + std::string(how) + "' for '--follow'\n" +
                "Valid arguments are:\n  - 'descriptor'\n  - 'name'";
        return ParseOutcome::UsageError;
      }
      o.follow = n ? Follow::Name : Follow::Descriptor;
      break;
    }
    case kRetry: o.retry = true; break;
    case kPrefix: o.prefix = true; break;
    case 'q':
      o.quiet = true;
      o.verbose = false;
      break;
    case 'v':
      o.verbose = true;
      o.quiet = false;
      break;
    case 'u': break; // cat's -u: output is unbuffered anyway
    case 'z': o.delim = '\0'; break;
    // cat's display options (its -n -s -v are tail's here: long only).
    case 'A': o.display.show_nonprinting = o.display.show_ends = o.display.show_tabs = true; break;
    case 'b': o.display.number = o.display.number_nonblank = true; break;
    case 'e': o.display.show_nonprinting = o.display.show_ends = true; break;
    case 'E': o.display.show_ends = true; break;
    case 't': o.display.show_nonprinting = o.display.show_tabs = true; break;
    case 'T': o.display.show_tabs = true; break;
    case kNumber: o.display.number = true; break;
    case kSqueezeBlank: o.display.squeeze_blank = true; break;
    case kShowNonprinting: o.display.show_nonprinting = true; break;
    case 's': {
      // tail refuses a bad value at once, in its option loop.
      auto d = parse_seconds(optarg);
      if (!d) {
        error = "invalid number of seconds: " + tools::quote_value(optarg);
        return ParseOutcome::BadValue;
      }
      o.sleep_interval = *d;
      break;
    }
    case kMaxUnchangedStats: {
      CountError why{};
      auto n = parse_unchanged_stats(optarg, &why);
      if (!n) {
        error = "invalid maximum number of unchanged stats between opens: " +
                tools::quote_value(optarg);
        if (why == CountError::Overflow) error += std::string(": ") + std::strerror(EOVERFLOW);
        return ParseOutcome::BadValue;
      }
      o.max_unchanged_stats = *n;
      break;
    }
    case kPid:
      pid_text = optarg;
      have_pid = true;
      break;
    case kIdleTimeout:
      idle_text = optarg;
      have_idle = true;
      break;
    case kHelp: return ParseOutcome::Help;
    case kVersion: return ParseOutcome::Version;
    default:
      if (c >= '0' && c <= '9') {
        // tail says this alone, with no "Try --help" line.
        error = std::string("option used in invalid context -- ") + static_cast<char>(c);
        return ParseOutcome::BadValue;
      }
      error.clear(); // getopt said why
      return ParseOutcome::UsageError;
    }
  }
  for (int i = optind; i < argc; ++i)
    o.files.emplace_back(args[static_cast<std::size_t>(i)]);
  if (o.display.any() && (o.mode != Mode::Cat || o.follow != Follow::None || o.prefix)) {
    // Neither cat nor tail takes both: no script asks for it.
    error = "cat's display options (-A -b -e -E -t -T --number --squeeze-blank "
            "--show-nonprinting) apply to plain concatenation only";
    return ParseOutcome::UsageError;
  }
  if (have_pid) {
    // tail's --pid: a plain decimal (blanks and a '+' before it allowed, no
    // suffix) from 0 to INT_MAX; 0 is no process at all.
    std::string_view t = pid_text;
    std::size_t at = t.find_first_not_of(" \t\n\v\f\r");
    std::string_view digits = at == std::string_view::npos ? "" : t.substr(at);
    if (digits.starts_with('+')) digits.remove_prefix(1);
    CountError why = CountError::Invalid;
    std::optional<Count> p;
    if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos)
      p = parse_count(t, &why);
    if (!p || p->n > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
      error = "invalid PID: " + tools::quote_value(pid_text);
      if (p || why == CountError::Overflow) error += std::string(": ") + std::strerror(EOVERFLOW);
      return ParseOutcome::BadValue;
    }
    if (p->n != 0) o.pid = static_cast<pid_t>(p->n);
  }
  if (have_idle) {
    o.idle_timeout = parse_duration(idle_text);
    if (!o.idle_timeout) {
      error = "invalid duration: " + tools::quote_value(idle_text);
      return ParseOutcome::UsageError;
    }
  }
  return ParseOutcome::Run;
}

} // namespace acat
