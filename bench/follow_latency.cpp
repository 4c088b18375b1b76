// Append-to-reader latency of followers such as `tail -f` and `acat -f`:
// appends a line to a file every INTERVAL, and times how long until the
// line comes out of the follower's stdout (a pipe read by this program).
// The followers are measured in alternating rounds, so a noisy neighbour
// hurts them all alike; each gets the median of its rounds' p50 and p99.
//
// usage: follow_latency [--interleave] DIR LINES ROUNDS 'CMD...' ['CMD...'...]
//   each CMD is split at spaces; the file to follow is appended to it.
//   --interleave runs all followers at once, each on its own file, and
//   sends the lines to them in turn: per-line differences against the
//   first CMD then cancel the machine's drift, and are printed too. Each
//   round starts the turn one follower later; use a multiple of the number
//   of CMDs as ROUNDS so each takes each place equally often.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  double p50_us, p99_us, cpu_us; // cpu_us: the follower's CPU time per line
  std::vector<double> lat_us;    // every line's, in order
};

// Time on CPU of `pid` so far, from the scheduler's own accounting (ns).
double cpu_ns(pid_t pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/schedstat").c_str(), "r");
  double ns = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%lf", &ns) != 1) ns = 0;
    std::fclose(f);
  }
  return ns;
}

std::vector<std::string> split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  return words;
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// A follower running on its own file, its stdout a pipe to us.
struct Follower {
  pid_t pid = -1;
  int file = -1; // appended to
  int out = -1;  // read from
  double cpu0 = 0;
  std::vector<double> lat;
};

Follower start(const std::string& cmd, const std::string& path) {
  Follower f;
  f.file = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  int p[2];
  if (f.file < 0 || ::pipe2(p, O_CLOEXEC) != 0) die("follow_latency: set-up");
  f.pid = ::fork();
  if (f.pid < 0) die("follow_latency: fork");
  if (f.pid == 0) {
    ::dup2(p[1], 1);
    auto words = split(cmd);
    words.push_back(path);
    std::vector<char*> argv;
    for (auto& w : words)
      argv.push_back(w.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    _exit(127);
  }
  ::close(p[1]);
  f.out = p[0];
  return f;
}

// Appends line `i` and waits until it comes out: one latency sample.
void sample(Follower& f, int i, const std::string& cmd) {
  char line[32], got[4096];
  int n = std::snprintf(line, sizeof line, "%d\n", i);
  auto t0 = Clock::now();
  if (::write(f.file, line, static_cast<std::size_t>(n)) != n) die("follow_latency: append");
  for (std::size_t have = 0; have == 0 || got[have - 1] != '\n';) {
    ssize_t r = ::read(f.out, got + have, sizeof got - have);
    if (r <= 0) {
      std::fprintf(stderr, "follow_latency: '%s' stopped writing\n", cmd.c_str());
      std::exit(1);
    }
    have += static_cast<std::size_t>(r);
  }
  f.lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
}

void stop(Follower& f) {
  ::kill(f.pid, SIGTERM);
  ::waitpid(f.pid, nullptr, 0);
  ::close(f.out);
  ::close(f.file);
}

Figures figures(const std::vector<double>& lat, double cpu_ns, int lines) {
  std::vector<double> s = lat;
  std::sort(s.begin(), s.end());
  return {s[s.size() / 2], s[s.size() * 99 / 100], cpu_ns / 1e3 / lines, lat};
}

// One round with every follower running: the lines go to them in turn, so
// follower k's i-th line and follower 0's are 10 ms apart and see the same
// machine. `paired[k]` gets, per line, follower k's latency minus follower 0's.
// Round r starts the turn at follower r: where a follower sits in the turn
// moved its median by up to 2 us (the same binary, first after tail -f or
// second), so every follower takes every place equally often.
std::vector<Figures> round_interleaved(const std::vector<std::string>& cmds, const std::string& dir,
                                       int lines, int round,
                                       std::vector<std::vector<double>>& paired) {
  std::vector<Follower> fs;
  for (std::size_t c = 0; c < cmds.size(); ++c)
    fs.push_back(start(cmds[c], dir + "/follow-latency." + std::to_string(c)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& f : fs)
    f.cpu0 = cpu_ns(f.pid);
  for (int i = 0; i < lines; ++i)
    for (std::size_t k = 0; k < fs.size(); ++k) {
      std::size_t c = (k + static_cast<std::size_t>(round)) % fs.size();
      sample(fs[c], i, cmds[c]);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  std::vector<Figures> out;
  for (std::size_t c = 0; c < fs.size(); ++c) {
    for (int i = 0; i < lines; ++i)
      paired[c].push_back(fs[c].lat[i] - fs[0].lat[i]);
    double cpu = cpu_ns(fs[c].pid) - fs[c].cpu0;
    stop(fs[c]);
    out.push_back(figures(fs[c].lat, cpu, lines));
  }
  return out;
}

// One round of one follower alone.
Figures measure(const std::string& cmd, const std::string& path, int lines) {
  Follower f = start(cmd, path);
  // Let the follower reach its wait.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  f.cpu0 = cpu_ns(f.pid);
  for (int i = 0; i < lines; ++i) {
    sample(f, i, cmd);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  double cpu = cpu_ns(f.pid) - f.cpu0;
  stop(f);
  return figures(f.lat, cpu, lines);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  bool interleave = argc > 1 && std::strcmp(argv[1], "--interleave") == 0;
  if (interleave) {
    --argc;
    ++argv;
  }
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: follow_latency [--interleave] DIR LINES ROUNDS 'CMD...' ['CMD...'...]\n");
    return 2;
  }
  std::string dir = argv[1];
  int lines = std::atoi(argv[2]), rounds = std::atoi(argv[3]);
  if (lines < 2 || rounds < 1) {
    std::fprintf(stderr, "follow_latency: LINES must be >= 2 and ROUNDS >= 1\n");
    return 2;
  }
  std::vector<std::string> cmds(argv + 4, argv + argc);
  std::vector<std::vector<Figures>> res(cmds.size());
  std::vector<std::vector<double>> paired(cmds.size());
  for (int r = 0; r < rounds; ++r) {
    if (interleave) {
      auto figs = round_interleaved(cmds, dir, lines, r, paired);
      for (std::size_t c = 0; c < cmds.size(); ++c)
        res[c].push_back(figs[c]);
      continue;
    }
    for (std::size_t c = 0; c < cmds.size(); ++c)
      res[c].push_back(measure(cmds[c], dir + "/follow-latency." + std::to_string(c), lines));
  }
  for (std::size_t c = 0; c < cmds.size(); ++c) {
    std::vector<double> p50, p99, cpu;
    for (auto& f : res[c]) {
      p50.push_back(f.p50_us);
      p99.push_back(f.p99_us);
      cpu.push_back(f.cpu_us);
    }
    std::printf(
        "%-30s p50 %7.1f us  p99 %7.1f us  cpu %5.1f us/line  (median of %d rounds of %d)\n",
        cmds[c].c_str(), median(p50), median(p99), median(cpu), rounds, lines);
  }
  // A round's p99 is its 3rd-worst line of 300, and moves by 10-15% from
  // one round to the next for any follower; over all lines it is the
  // rounds*3-th worst.
  for (std::size_t c = 0; c < cmds.size(); ++c) {
    std::vector<double> all;
    for (auto& f : res[c])
      all.insert(all.end(), f.lat_us.begin(), f.lat_us.end());
    std::sort(all.begin(), all.end());
    std::printf("%-30s over all %zu lines: p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us\n",
                cmds[c].c_str(), all.size(), all[all.size() / 2], all[all.size() * 99 / 100],
                all[all.size() * 999 / 1000]);
  }
  // Paired lines cancel most of the drift between rounds that makes the
  // medians above move by several us from one run to the next.
  for (std::size_t c = 1; interleave && c < cmds.size(); ++c) {
    const auto& d = paired[c];
    std::size_t slower = 0;
    for (double x : d)
      slower += x > 0 ? 1 : 0;
    std::printf("%-30s minus %s, per line: median %+.1f us, slower on %.0f%% of %zu lines\n",
                cmds[c].c_str(), cmds[0].c_str(), median(d),
                100.0 * static_cast<double>(slower) / static_cast<double>(d.size()), d.size());
  }
  for (std::size_t c = 0; c < cmds.size(); ++c)
    ::unlink((dir + "/follow-latency." + std::to_string(c)).c_str());
  return 0;
}
