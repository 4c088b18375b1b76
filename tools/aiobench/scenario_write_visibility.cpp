// write-visibility: write, then ask for the file's size from another task
// at once. With tokio's File model the write is "done" when it is queued on
// the pool, so the size often does not show it yet; the writes here are
// large (4 MiB by default) so the queued write is reliably still running.
// uring's write is done when its CQE says so: the count must be 0.
#include "child.hpp"
#include "scenarios.hpp"
#include "strategy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace aiobench {
namespace {

void vis_child(const Options& opt, const std::string& strategy, const std::string& path,
               Emitter& em) {
  auto strat = make_strategy(strategy, opt);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  VisOutcome out = strat->write_visibility({fd, path, opt.vis_size, opt.vis_rounds});
  ::close(fd);
  em.figure("rounds", out.rounds);
  em.figure("write_size", static_cast<double>(opt.vis_size));
  em.figure("not_visible", out.not_visible);
  em.figure("returned_before_written", out.returned_before_written);
  em.process_end();
}

} // namespace

void run_write_visibility(Context& ctx) {
  const Options& opt = ctx.opt;
  // pool-per-attempt awaits its write job; tokio-file's write_all returns
  // once its last piece is queued: the two differ only in when "done" is said.
  for (const auto& name : opt.strategies) {
    Row row{"write-visibility", name, "", false, "", {}, {}};
    // The volume is planned, and shown before it is written.
    ctx.progress.show(fmt::format(
        "write-visibility: {} ({} writes of {} KiB = {} MiB)", name, opt.vis_rounds,
        opt.vis_size >> 10, (static_cast<std::uint64_t>(opt.vis_rounds) * opt.vis_size) >> 20));
    std::string path = ctx.dir + "/vis-" + name + ".dat";
    Child c = spawn_child([&](Emitter& em) { vis_child(opt, name, path, em); });
    collect(c, {c.pid}, row, std::chrono::milliseconds(20),
            std::chrono::milliseconds(static_cast<long>(opt.row_timeout_s * 1000)), false);
    ::unlink(path.c_str());
    if (row.note.empty()) {
      if (row.get_or("not_visible", 0) > 0)
        row.note = "reported done before the bytes were in the file";
      else
        row.note = "done meant done";
    }
    ctx.report.rows.push_back(std::move(row));
  }
}

} // namespace aiobench
