// cancel-storm: the select loop from the thread-leak story. Each round races
// a read on a FIFO against a short timer; a writer process writes one byte
// now and then, so nearly every read loses. A thread pool leaves one thread
// blocked per lost read (and the bytes those reads take later are lost);
// io_uring cancels the read in the kernel; epoll never started one.
#include "child.hpp"
#include "scenarios.hpp"
#include "strategy.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <stdexcept>

namespace aiobench {
namespace {

// The rare writer: its own process, so it adds no thread to the one measured.
pid_t start_writer(int wfd, int rfd, unsigned interval_ms) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::close(rfd);
  set_blocking(wfd, true);
  for (;;) {
    timespec ts{static_cast<time_t>(interval_ms / 1000),
                static_cast<long>(interval_ms % 1000) * 1'000'000};
    nanosleep(&ts, nullptr);
    char b = 'x';
    if (::write(wfd, &b, 1) != 1) _exit(0);
  }
}

void storm_child(const Options& opt, const std::string& strategy, const std::string& fifo,
                 Emitter& em) {
  auto strat = make_strategy(strategy, opt);
  em.figure("fds_start", fd_count());
  em.figure("rss_kib_start", static_cast<double>(rss_kib()));
  int rfd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  int wfd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (rfd < 0 || wfd < 0) throw std::runtime_error("cannot open the FIFO");
  pid_t writer = start_writer(wfd, rfd, opt.writer_interval_ms);
  ::close(wfd);
  double t0 = now_s();
  StormOutcome out =
      strat->cancel_storm({rfd, opt.storm_rounds, std::chrono::microseconds(opt.storm_work_us)});
  em.figure("wall_ms", (now_s() - t0) * 1000);
  // A thread may still be blocked on the fd: closing it would let the
  // number be reused under that read, so an abandoning strategy keeps it.
  if (out.reads_abandoned == 0) ::close(rfd);
  em.figure("rounds", opt.storm_rounds);
  em.figure("reads_won", static_cast<double>(out.reads_won));
  em.figure("reads_cancelled", static_cast<double>(out.reads_cancelled));
  em.figure("reads_abandoned", static_cast<double>(out.reads_abandoned));
  em.figure("reads_resumed", static_cast<double>(out.reads_resumed));
  em.figure("bytes_lost", static_cast<double>(out.bytes_lost));
  em.figure("pool_queued_end", static_cast<double>(out.pool_queued));
  if (strategy == "pool-per-attempt" || strategy == "tokio-file") {
    em.figure("pool_running_end", static_cast<double>(out.pool_running));
    em.figure("pool_threads_spawned", static_cast<double>(out.pool_spawned));
  }
  // Measured while the writer is still there: its leaving would end the
  // blocked reads with EOF and hide the leak.
  em.process_end();
  kill(writer, SIGKILL);
  waitpid(writer, nullptr, 0);
}

} // namespace

void run_cancel_storm(Context& ctx) {
  const Options& opt = ctx.opt;
  for (const auto& name : opt.strategies) {
    Row row{"cancel-storm", name, "", false, "", {}, {}};
    auto strat = make_strategy(name, opt);
    if (auto why = strat->unsupported("cancel-storm"); !why.empty()) {
      row.skipped = true;
      row.note = why;
      ctx.report.rows.push_back(std::move(row));
      continue;
    }
    ctx.progress.show(fmt::format("cancel-storm: {} ({} rounds)", name, opt.storm_rounds));
    std::string fifo = ctx.dir + "/storm-" + name + ".fifo";
    make_fifo(fifo);
    Child c = spawn_child([&](Emitter& em) { storm_child(opt, name, fifo, em); });
    collect(c, {c.pid}, row, std::chrono::milliseconds(10),
            std::chrono::milliseconds(static_cast<long>(opt.row_timeout_s * 1000)), true);
    if (row.note.empty()) row.note = strat->model();
    ::unlink(fifo.c_str());
    ctx.report.rows.push_back(std::move(row));
  }
}

} // namespace aiobench
