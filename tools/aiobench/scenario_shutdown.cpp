// shutdown: how long a process takes to exit when asked to while a read on
// a silent FIFO is pending. uring cancels the read; epoll never started
// one; a thread pool must wait for its blocked thread (tokio's Runtime drop
// does), and a sync program is inside read() and never sees the request.
// After --shutdown-wait the FIFO gets one byte so the blocked ones can end.
#include "child.hpp"
#include "scenarios.hpp"
#include "strategy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

namespace aiobench {

void run_shutdown(Context& ctx) {
  const Options& opt = ctx.opt;
  for (const auto& name : opt.strategies) {
    Row row{"shutdown", name, "", false, "", {}, {}};
    ctx.progress.show(fmt::format("shutdown: {}", name));
    std::string fifo = ctx.dir + "/shutdown-" + name + ".fifo";
    make_fifo(fifo);
    int rfd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    int wfd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC); // the silent writer
    int control[2], ready[2];
    if (rfd < 0 || wfd < 0 || pipe2(control, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0)
      throw std::runtime_error("cannot set up the shutdown scenario");
    Child c = spawn_child([&](Emitter&) {
      ::close(wfd);
      auto strat = make_strategy(name, opt);
      strat->shutdown({rfd, control[0], ready[1]});
    });
    ::close(rfd);
    ::close(control[0]);
    ::close(ready[1]);
    pollfd p{ready[0], POLLIN, 0};
    char b;
    bool pending = poll(&p, 1, 10000) == 1 && ::read(ready[0], &b, 1) == 1;
    if (!pending) {
      // The child ended without its read pending: io_uring denied here
      // (an unavailable row, not a failure), or something failed.
      if (wait_for_exit(c.pid, std::chrono::seconds(5)) == -1) {
        kill(c.pid, SIGKILL);
        (void)wait_for_exit(c.pid, std::chrono::seconds(5));
      }
      read_leftovers(c.result_fd, row);
      if (row.unavailable) {
        for (int fd : {wfd, control[1], ready[0], c.result_fd})
          ::close(fd);
        ::unlink(fifo.c_str());
        ctx.report.rows.push_back(std::move(row));
        continue;
      }
    }
    usleep(20000); // let the read reach the kernel (or its thread)
    TaskCounts t = task_counts(c.pid);
    row.set("user_threads_peak", t.user);
    row.set("iowq_workers_peak", t.iowq);
    double t0 = now_s();
    (void)!::write(control[1], "Q", 1);
    auto wait_ms = std::chrono::milliseconds(static_cast<long>(opt.shutdown_wait_s * 1000));
    int st = wait_for_exit(c.pid, wait_ms);
    bool blocked = st == -1;
    double exit_ms = (now_s() - t0) * 1000;
    double after_data_ms = 0;
    if (blocked) {
      double t1 = now_s();
      (void)!::write(wfd, "x", 1);
      st = wait_for_exit(c.pid, std::chrono::seconds(5));
      if (st == -1) {
        kill(c.pid, SIGKILL);
        (void)wait_for_exit(c.pid, std::chrono::seconds(5));
      }
      after_data_ms = (now_s() - t1) * 1000;
      exit_ms = (now_s() - t0) * 1000;
    }
    // The figure that answers the question is whether it exited before the
    // data came; exit_ms of a blocked row is mostly --shutdown-wait.
    row.set("exited_before_data", blocked ? 0 : 1);
    row.set("exit_ms", exit_ms);
    row.set("exit_after_data_ms", after_data_ms);
    row.set("blocked", blocked ? 1 : 0);
    row.set("exit_ok", st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : 0);
    if (!pending) {
      row.note = "failed: the read never became pending";
      row.failed = true;
    } else if (st == -1) {
      row.note = "failed: still running 5 s after the FIFO got data; killed";
      row.failed = true;
    } else if (blocked)
      row.note = fmt::format("did not exit within {} ms; ended only after the FIFO got data",
                             wait_ms.count());
    else
      row.note = "exited at once: nothing was left running";
    ::close(wfd);
    ::close(control[1]);
    ::close(ready[0]);
    ::close(c.result_fd);
    ::unlink(fifo.c_str());
    ctx.report.rows.push_back(std::move(row));
  }
}

} // namespace aiobench
