// Append-to-reader latency of followers such as `tail -f` and `acat -f`:
// appends a line to a file every INTERVAL, and times how long until the
// line comes out of the follower's stdout (a pipe read by this program).
// The followers are measured in alternating rounds, so a noisy neighbour
// hurts them all alike; each gets the median of its rounds' p50 and p99.
//
// usage: follow_latency DIR LINES ROUNDS 'CMD...' ['CMD...'...]
//   each CMD is split at spaces; the file to follow is appended to it.
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

Figures measure(const std::string& cmd, const std::string& path, int lines) {
  int f = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  int p[2];
  if (f < 0 || ::pipe2(p, O_CLOEXEC) != 0) die("follow_latency: set-up");
  pid_t pid = ::fork();
  if (pid < 0) die("follow_latency: fork");
  if (pid == 0) {
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
  // Let the follower reach its wait.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<double> lat;
  char line[32], got[4096];
  double cpu0 = cpu_ns(pid);
  for (int i = 0; i < lines; ++i) {
    int n = std::snprintf(line, sizeof line, "%d\n", i);
    auto t0 = Clock::now();
    if (::write(f, line, static_cast<std::size_t>(n)) != n) die("follow_latency: append");
    for (std::size_t have = 0; have == 0 || got[have - 1] != '\n';) {
      ssize_t r = ::read(p[0], got + have, sizeof got - have);
      if (r <= 0) {
        std::fprintf(stderr, "follow_latency: '%s' stopped writing\n", cmd.c_str());
        std::exit(1);
      }
      have += static_cast<std::size_t>(r);
    }
    lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  double cpu = cpu_ns(pid) - cpu0;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(p[0]);
  ::close(f);
  std::sort(lat.begin(), lat.end());
  return {lat[lat.size() / 2], lat[lat.size() * 99 / 100], cpu / 1e3 / lines};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: follow_latency DIR LINES ROUNDS 'CMD...' ['CMD...'...]\n");
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
  for (int r = 0; r < rounds; ++r)
    for (std::size_t c = 0; c < cmds.size(); ++c)
      res[c].push_back(measure(cmds[c], dir + "/follow-latency." + std::to_string(c), lines));
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
  for (std::size_t c = 0; c < cmds.size(); ++c)
    ::unlink((dir + "/follow-latency." + std::to_string(c)).c_str());
  return 0;
}
