// acat: the command line. Parsing only; run.cpp does the work.
#include "options.hpp"
#include "run.hpp"

#include "aio/runtime.hpp"
#include "aio/signals.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

// GNU's optional argument: a bare --follow means descriptor and never takes
// the next word as its value (`acat --follow file`).
std::vector<std::string> normalize(int argc, char** argv) {
  std::vector<std::string> args;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") options_done = true;
    if (!options_done && a == "--follow") a = "--follow=descriptor";
    args.push_back(std::move(a));
  }
  return args;
}

// Following many files needs as many descriptors: use what the hard limit allows.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// A closed stdin/stdout/stderr would be taken by the next fd we open (the
// ring, an input), and acat would write into it. Hold each closed one with
// /dev/null opened the wrong way round, so using it fails with EBADF as
// it does for cat.
void reserve_std_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (got >= 0 && got != fd) close(got);
  }
}

} // namespace

int main(int argc, char** argv) {
  reserve_std_fds();
  acat::Options opts;
  CLI::App app{"Concatenate files, FIFOs and stdin to stdout; show their tail; follow them.\n"
               "One thread, on io_uring: no helper threads, no busy waiting.",
               "acat"};
  app.set_version_flag("--version", std::string("acat ") + ACAT_VERSION);
  std::string lines, bytes, follow, pid, idle;
  bool f = false, F = false;
  app.add_option("-n,--lines", lines, "the last N lines, or from line N on with +N")
      ->type_name("[+]N");
  app.add_option("-c,--bytes", bytes, "the last N bytes, or from byte N on with +N")
      ->type_name("[+]N");
  app.add_flag("-f", f, "follow: print what is appended (--follow=descriptor)");
  app.add_option("--follow", follow, "follow by descriptor (default) or by name")
      ->type_name("[=descriptor|name]")
      ->check(CLI::IsMember({"descriptor", "name"}));
  app.add_flag("-F", F, "same as --follow=name --retry");
  app.add_flag("--retry", opts.retry, "keep trying to open a file that is missing or goes away");
  app.add_flag("--prefix", opts.prefix, "start every line with its source's name");
  app.add_flag("-q,--quiet,--silent", opts.quiet, "never print ==> name <== headers");
  app.add_flag("-v,--verbose", opts.verbose, "always print ==> name <== headers");
  app.add_option("--pid", pid, "with -f, end after process PID ends")->type_name("PID");
  app.add_option("--idle-timeout", idle, "with -f, end after DURATION without input")
      ->type_name("DURATION");
  app.add_option("files", opts.files, "files to read; - or none: stdin")->type_name("FILE");

  auto args = normalize(argc, argv);
  std::vector<std::string> rev(args.rbegin(), args.rend());
  try {
    app.parse(rev);
    auto count = [](const std::string& v, const char* what) {
      auto c = acat::parse_count(v);
      if (!c) throw CLI::ValidationError(fmt::format("invalid number of {}: '{}'", what, v));
      return *c;
    };
    if (!lines.empty()) {
      opts.mode = acat::Mode::Lines;
      opts.count = count(lines, "lines");
    }
    if (!bytes.empty()) {
      if (!lines.empty()) throw CLI::ValidationError("-n and -c cannot be used together");
      opts.mode = acat::Mode::Bytes;
      opts.count = count(bytes, "bytes");
    }
    if (f) opts.follow = acat::Follow::Descriptor;
    if (!follow.empty())
      opts.follow = follow == "name" ? acat::Follow::Name : acat::Follow::Descriptor;
    if (F) {
      opts.follow = acat::Follow::Name;
      opts.retry = true;
    }
    if (!pid.empty()) {
      auto p = acat::parse_count(pid);
      if (!p || p->from_start || pid.find_first_not_of("0123456789") != std::string::npos ||
          p->n == 0 || p->n > 0x3fffffff)
        throw CLI::ValidationError(fmt::format("invalid PID: '{}'", pid));
      opts.pid = static_cast<pid_t>(p->n);
    }
    if (!idle.empty()) {
      opts.idle_timeout = acat::parse_duration(idle);
      if (!opts.idle_timeout)
        throw CLI::ValidationError(fmt::format("invalid duration: '{}'", idle));
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    fmt::print(stderr, "acat: {}\nTry 'acat --help' for more information.\n", what);
    return 2;
  }

  // EPIPE is handled (quietly) where it happens; SIGPIPE is given back to
  // cat's default at the end if that was what we were started with.
  struct sigaction old_pipe {};
  sigaction(SIGPIPE, nullptr, &old_pipe);
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  std::string why;
  auto rt = aio::Runtime::create(aio::default_runtime_options(), &why);
  if (!rt) {
    fmt::print(stderr, "acat: {}\n", why);
    return 1;
  }
  int code = (*rt)->block_on(aio::run_interruptible(acat::run(opts)));
  rt->reset();
  if (code == acat::kBrokenPipe) {
    if (old_pipe.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_DFL);
      raise(SIGPIPE);
    }
    return 1;
  }
  return aio::exit_status(code);
}
