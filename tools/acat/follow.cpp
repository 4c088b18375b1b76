#include "follow.hpp"

#include "follow_chain.hpp"
#include "tail.hpp"

#include "aio/inotify.hpp"
#include "aio/ops.hpp"
#include "aio/pidfd.hpp"
#include "aio/race.hpp"
#include "aio/scope.hpp"
#include "aio/sync.hpp"
#include "quote.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>

namespace acat {
namespace {

// The watched inode: new bytes, truncation (MODIFY), a link count or mode
// change (ATTRIB: an unlink, under -F), or the file itself going away.
constexpr std::uint32_t kFileMask = IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
// The directory of a followed name: the name coming or going (rotation),
// and the directory itself removed (IN_IGNORED may come only once the
// removed directory's inode is freed, later).
constexpr std::uint32_t kDirMask =
    IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF;
constexpr std::size_t kFollowBuf = std::size_t{128} * 1024;

// What every follower shares. `finish` is the soft end (--pid, --idle-timeout):
// followers catch up one last time and return. A write error is the hard end.
struct State {
  Context& ctx;
  aio::Event finish;
  aio::Result<void> error;
  aio::Scope* scope = nullptr;
  // Whether anything can ever set `finish` (--pid, --idle-timeout).
  bool can_finish = false;
  // No FIFO follower shares stdout with the file follower.
  bool files_only = false;
  // For the exit status, which in tail depends on how it follows: when it
  // polls, the end of the follow (--pid, "no files remaining") exits with
  // the status of the first pass; with inotify, 0 at --pid's end and 1 when
  // no file is left. `initial_error`: the first pass reported an error.
  // `tail_polls`: tail would poll these operands from the start; `polling`:
  // the file follower polls (tail reverts to polling in the same cases).
  bool initial_error = false;
  bool tail_polls = false;
  bool polling = false;
  bool pid_ended = false;
  bool status_of_polling() const { return tail_polls || polling; }

  void fail(aio::Result<void> e) {
    if (error) error = e;
    scope->request_stop();
  }
};

aio::Task<aio::Result<void>> wait_event(aio::Event& e) { co_return co_await e.wait(); }

aio::Task<aio::Result<void>> sleep(std::chrono::nanoseconds d) {
  co_return co_await aio::sleep_for(d);
}

aio::Task<bool> stopped() { co_return (co_await aio::stop_token()).stop_requested(); }

class FileFollower {
public:
  // Without an inotify instance (none could be had) it polls from the start.
  FileFollower(State& st, std::optional<aio::Inotify> ino, std::vector<Input*> files)
      : st_(st), ctx_(st.ctx), ino_(std::move(ino)), files_(std::move(files)),
        buf_(make_buffer(kFollowBuf)), polling_(!ino_) {
    st_.polling = polling_;
  }

  aio::Task<void> run();

private:
  bool by_name() const { return ctx_.opts.follow == Follow::Name; }
  bool watch_dir(Input& in);
  void start_polling();
  aio::Task<void> wait_poll();
  void watch_inode(Input& in);
  void unwatch_inode(Input& in);
  aio::Task<aio::Result<void>> check(Input& in);
  aio::Task<aio::Result<void>> reopen(Input& in);
  aio::Task<aio::Result<void>> drain(Input& in);
  aio::Task<aio::Result<std::span<const aio::InotifyEvent>>> follow_one(Input& in);
  void give_up(Input& in);

  State& st_;
  Context& ctx_;
  std::optional<aio::Inotify> ino_;
  std::vector<Input*> files_;
  Buffer buf_;
  // Following by looking at every file every -s seconds (1 by default), as tail does where
  // inotify cannot tell everything: no inotify instance, a name that is a
  // symbolic link (its target may appear anywhere), a name whose directory
  // does not exist (yet) or was removed.
  bool polling_;
  std::unordered_map<int, std::vector<Input*>> by_inode_;
  std::unordered_map<int, std::vector<Input*>> by_dir_;
  std::unordered_map<const Input*, std::string> base_;
  std::unordered_map<const Input*, std::size_t> index_;
};

// False when the directory cannot be watched (it does not exist yet): the
// name is then polled, as tail does.
bool FileFollower::watch_dir(Input& in) {
  std::filesystem::path p(in.path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  base_[&in] = p.filename().string();
  auto wd = ino_->add_watch(dir, kDirMask | IN_ONLYDIR);
  if (!wd) {
    if (wd.error() == std::errc::no_space_on_device) {
      // fs.inotify.max_user_watches reached: tail's words.
      ctx_.note("inotify resources exhausted");
      ctx_.note("inotify cannot be used, reverting to polling");
    }
    return false;
  }
  by_dir_[*wd].push_back(&in);
  return true;
}

// From now on every file is looked at every -s seconds; inotify is closed.
void FileFollower::start_polling() {
  polling_ = true;
  st_.polling = true;
  ino_.reset();
  by_inode_.clear();
  by_dir_.clear();
  for (Input* in : files_)
    in->wd = -1;
}

aio::Task<void> FileFollower::wait_poll() {
  if (st_.can_finish)
    (void)co_await aio::race(sleep(ctx_.opts.sleep_interval), wait_event(st_.finish));
  else
    (void)co_await sleep(ctx_.opts.sleep_interval);
}

void FileFollower::watch_inode(Input& in) {
  if (polling_) return;
  // Through /proc/self/fd: the inode we hold, whatever the name is now.
  auto wd = ino_->add_watch("/proc/self/fd/" + std::to_string(in.fd.get()), kFileMask);
  if (!wd) {
    if (wd.error() == std::errc::no_space_on_device) {
      // fs.inotify.max_user_watches reached: tail's words, and its remedy.
      ctx_.note("inotify resources exhausted");
      ctx_.note("inotify cannot be used, reverting to polling");
      start_polling();
      return;
    }
    ctx_.report("cannot watch " + tools::quote(in.src.name), wd.error());
    return;
  }
  in.wd = *wd;
  by_inode_[*wd].push_back(&in);
}

void FileFollower::unwatch_inode(Input& in) {
  if (in.wd < 0) return;
  auto it = by_inode_.find(in.wd);
  if (it != by_inode_.end()) {
    std::erase(it->second, &in);
    // Two operands may name one file: the watch is shared, keep it for the other.
    if (it->second.empty()) {
      if (ino_) (void)ino_->remove_watch(in.wd);
      by_inode_.erase(it);
    }
  }
  in.wd = -1;
}

void FileFollower::give_up(Input& in) {
  unwatch_inode(in);
  in.fd.reset();
  in.done = true;
}

AIO_HOT aio::Task<aio::Result<void>> FileFollower::drain(Input& in) {
  if (!in.fd) co_return aio::Result<void>{};
  // Read first, and fstat only when there is nothing new at `pos`: a file
  // cut shorter than `pos` reads as empty there, so that is the only time
  // a truncation can show. tail fstats before every read; that syscall
  // stood between the inotify wake and the write of the new bytes.
  bool size_checked = false;
  for (;;) {
    // Followed files are regular: read at `pos` directly, not through
    // read_some's coroutine (each frame is cold memory after a wake-up).
    auto r = co_await aio::read(in.fd.get(), std::span(buf_.get(), kFollowBuf), in.pos);
    if (r) in.pos += *r;
    if (!r) {
      if (r.cancelled()) co_return r.error();
      ctx_.report_read(in, r.error());
      give_up(in);
      co_return aio::Result<void>{};
    }
    if (*r == 0) {
      if (size_checked) co_return aio::Result<void>{};
      size_checked = true;
      auto st = stat_fd(in.fd.get());
      if (!st || static_cast<std::uint64_t>(st->st_size) >= in.pos) co_return aio::Result<void>{};
      ctx_.note(tools::quote_if_needed(in.src.name) + ": file truncated");
      in.pos = 0;
      continue;
    }
    if (auto w = co_await ctx_.out.emit(in.src, std::span(buf_.get(), *r)); !w) co_return w;
    // A short read reached the end: no extra read to hear "0". Anything
    // appended or cut from now on raises IN_MODIFY on the watch, and the
    // read that event brings finds it.
    if (*r < kFollowBuf) co_return aio::Result<void>{};
  }
}

AIO_HOT aio::Task<aio::Result<void>> FileFollower::check(Input& in) {
  if (in.done) co_return aio::Result<void>{};
  if (!by_name()) co_return co_await drain(in);
  auto st = stat_path(in.path);
  if (!st) {
    if (in.fd) {
      // Whatever the writer put in before the name went is still ours.
      if (auto w = co_await drain(in); !w) co_return w;
      unwatch_inode(in);
      in.fd.reset();
      if (ctx_.opts.retry) {
        ctx_.note(tools::quote(in.src.name) + " has become inaccessible: " + st.error().message());
      } else {
        // Not given up: the name is still watched and followed again if
        // it comes back ("has appeared"), as tail does; but it no longer
        // keeps acat running (see run()).
        ctx_.report(tools::quote_if_needed(in.src.name), st.error());
      }
    } else {
      // Seen gone: like tail (its errnum becomes ENOENT), forget that the
      // name was untailable, so a file made there later "has appeared"
      // rather than "has become accessible".
      in.untailable = in.replaced_untailable = false;
    }
    co_return aio::Result<void>{};
  }
  if (in.fd && st->st_dev == in.dev && st->st_ino == in.ino) co_return co_await drain(in);
  if (!S_ISREG(st->st_mode)) {
    // A directory (or another file that has no end to follow) under the
    // name: given up, or with --retry waited on until it becomes a file.
    bool was_open = in.fd.valid();
    if (was_open) {
      if (auto w = co_await drain(in); !w) co_return w;
      unwatch_inode(in);
      in.fd.reset();
    }
    if (was_open || !(in.untailable || in.replaced_untailable)) {
      ctx_.note(tools::quote(in.src.name) + " has been replaced with an untailable file" +
                (ctx_.opts.retry ? "" : "; giving up on this name"));
    }
    in.replaced_untailable = true;
    if (!ctx_.opts.retry) in.done = true;
    co_return aio::Result<void>{};
  }
  if (in.fd) {
    if (auto w = co_await drain(in); !w) co_return w;
    unwatch_inode(in);
    in.fd.reset();
    ctx_.note(tools::quote(in.src.name) + " has been replaced;  following new file");
  } else if (in.untailable || in.replaced_untailable) {
    ctx_.note(tools::quote(in.src.name) + " has become accessible");
  } else {
    ctx_.note(tools::quote(in.src.name) + " has appeared;  following new file");
  }
  in.untailable = in.replaced_untailable = false;
  if (auto o = co_await open_input(in, false); !o) {
    if (o.cancelled()) co_return o.error();
    ctx_.report_open(in, o.error());
    co_return aio::Result<void>{};
  }
  watch_inode(in);
  co_return co_await drain(in);
}

// --follow=descriptor --retry: a file that could not be opened at the start
// is looked for every -s seconds (tail's recheck), quietly while it cannot be;
// once open it is followed by descriptor like the others, from its start.
aio::Task<aio::Result<void>> FileFollower::reopen(Input& in) {
  auto st = stat_path(in.path);
  if (!st) {
    in.open_error = st.error();
    co_return aio::Result<void>{};
  }
  if (!S_ISREG(st->st_mode)) {
    // By descriptor tail gives up on it even with --retry.
    ctx_.note(tools::quote(in.src.name) +
              " has been replaced with an untailable file; giving up on this name");
    in.done = true;
    co_return aio::Result<void>{};
  }
  if (auto o = co_await open_input(in, false); !o) {
    if (o.cancelled()) co_return o.error();
    in.open_error = o.error();
    co_return aio::Result<void>{};
  }
  const bool was_missing = in.open_error == std::errc::no_such_file_or_directory;
  ctx_.note(tools::quote(in.src.name) +
            (was_missing ? " has appeared;  following new file" : " has become accessible"));
  in.open_error = {};
  co_return co_await drain(in);
}

// tail -f's usual case on a loop of its own: one open file, and nothing
// but a stop to end the follow. Each turn waits for inotify with the file's
// read linked behind it, so the kernel reads the new bytes in the same
// wake-up that brings their event. Once acat is the only writer of stdout
// and emit() would be one plain write, FollowChain runs the turns as
// completions, without this frame. It gives run() the batch in hand on
// anything but a plain IN_MODIFY of the file, or a read that filled the
// buffer or found nothing (a truncation shows so), or an error.
AIO_HOT aio::Task<aio::Result<std::span<const aio::InotifyEvent>>>
FileFollower::follow_one(Input& in) {
  const std::span<std::byte> buf(buf_.get(), kFollowBuf);
  for (;;) {
#ifndef ACAT_NO_FOLLOW_CHAIN // the plain coroutine path, for an A/B of FollowChain
    if (st_.files_only && ctx_.out.plain_for(in.src)) {
      FollowChain chain(
          {ino_->fd(), ino_->quiet_buffer(), in.wd, in.fd.get(), buf, ctx_.out.fd(), in.pos});
      auto turn = co_await chain;
      if (auto w = ctx_.out.written(turn.write); !w) {
        if (!w.cancelled()) st_.fail(w);
        co_return aio::errno_code(ECANCELED);
      }
      if (!turn.event) co_return turn.event.error();
      co_return ino_->take_quiet();
    }
#endif
    // Through emit(): FIFOs share stdout, a header is due, --prefix, or
    // stdout is a regular file (written with write(2), see Output).
    auto [ev, data] =
        co_await aio::Linked{ino_->quiet_read_op(), aio::read(in.fd.get(), buf, in.pos)};
    if (data && *data > 0) {
      auto r = co_await ctx_.out.emit(in.src, buf.first(*data));
      in.pos += *data;
      if (!r) {
        if (!r.cancelled()) st_.fail(r);
        co_return aio::errno_code(ECANCELED);
      }
    }
    if (!ev) co_return ev.error();
    auto events = ino_->take_quiet();
    if (!data || *data == 0 || *data == kFollowBuf) co_return events;
    for (const auto& e : events)
      if (e.wd != in.wd || e.mask != IN_MODIFY) co_return events;
  }
}

AIO_HOT aio::Task<void> FileFollower::run() {
  for (std::size_t i = 0; i < files_.size(); ++i)
    index_[files_[i]] = i;
  // A name still to be opened by descriptor (--retry) is looked for every
  // -s seconds (1 by default), and so, as in tail, is every file.
  if (!by_name() && std::any_of(files_.begin(), files_.end(),
                                [](const Input* in) { return !in->fd && !in->done; }))
    start_polling();
  for (Input* in : files_) {
    if (polling_) break;
    if (by_name()) {
      // tail polls too where a name is a symbolic link or its directory
      // cannot be watched, and says nothing of it.
      struct stat lst {};
      if (!watch_dir(*in) || (lstat(in->path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))) {
        start_polling();
        break;
      }
    }
    if (in->fd) watch_inode(*in);
  }
  // Bytes appended between the first pass and the watches are read now.
  std::vector<bool> dirty(files_.size(), true);
  for (;;) {
    for (std::size_t i = 0; i < files_.size(); ++i) {
      if (!dirty[i]) continue;
      dirty[i] = false;
      // By descriptor, check() would only call drain(): skip its frame.
      aio::Result<void> w;
      if (by_name())
        w = co_await check(*files_[i]);
      else if (files_[i]->fd) // (not a ?: with co_await: GCC 12 miscompiles it)
        w = co_await drain(*files_[i]);
      else if (!files_[i]->done) // given up files are closed
        w = co_await reopen(*files_[i]);
      if (!w) {
        if (!w.cancelled()) st_.fail(w);
        co_return;
      }
    }
    // Without --retry only an open file keeps acat following; with it, any
    // name not given up.
    bool any = false;
    for (Input* in : files_)
      any = any || (!in->done && (in->fd || ctx_.opts.retry));
    if (!any) {
      // tail's end when nothing is left to follow (none is with --retry).
      if (st_.files_only) {
        ctx_.note("no files remaining");
        // tail dies here with inotify; polling, it ends its loop and
        // exits with the first pass's status.
        ctx_.had_error = st_.status_of_polling() ? st_.initial_error : true;
      }
      co_return;
    }
    if (st_.finish.is_set()) co_return;
    if (polling_) {
      co_await wait_poll();
      if ((co_await aio::stop_token()).stop_requested()) co_return;
      std::fill(dirty.begin(), dirty.end(), true);
      continue;
    }
    // Racing `finish` costs, on every event batch and all between the wake
    // and the write of the new bytes, two more coroutine frames, a stop
    // request and a posted resume: about 5 of the ~22 us acat -f lagged
    // behind a plain io_uring loop per append. When nothing can set
    // `finish` the race can never be won by it, so wait on inotify alone.
    // A stop still cancels the read either way. (Not a ?: : GCC 12
    // miscompiles co_await inside the conditional operator; it hung.)
    aio::Result<std::span<const aio::InotifyEvent>> events{std::span<const aio::InotifyEvent>{}};
    // One open file (tail -f's usual case): follow_one() loops on it.
    Input* solo = files_.size() == 1 && files_[0]->fd ? files_[0] : nullptr;
    if (solo != nullptr && !st_.can_finish) {
      events = co_await follow_one(*solo);
      // EAGAIN: a kernel that does not poll-arm the read. EINVAL: an event
      // with a name (a directory's, under -F), too big for the quiet read.
      if (!events && (events.error() == std::errc::resource_unavailable_try_again ||
                      events.error() == std::errc::invalid_argument))
        events = co_await ino_->next();
      // Its last read may have filled the buffer or found the file cut.
      dirty[0] = true;
    } else if (st_.can_finish) {
      events = (co_await aio::race(ino_->next(), wait_event(st_.finish))).first;
    } else {
      events = co_await ino_->next();
    }
    if ((co_await aio::stop_token()).stop_requested()) co_return;
    if (st_.finish.is_set()) {
      // The end was asked for: one last catch-up of every file.
      std::fill(dirty.begin(), dirty.end(), true);
      continue;
    }
    if (!events) {
      ctx_.report("inotify", events.error());
      co_return;
    }
    for (const auto& ev : *events) {
      if ((ev.mask & IN_Q_OVERFLOW) != 0) std::fill(dirty.begin(), dirty.end(), true);
      auto mark = [&](const Input* in) { dirty[index_[in]] = true; };
      if (auto it = by_inode_.find(ev.wd); it != by_inode_.end()) {
        for (Input* in : it->second)
          mark(in);
        if ((ev.mask & IN_IGNORED) != 0) {
          // The kernel dropped the watch (the inode is gone).
          for (Input* in : it->second)
            in->wd = -1;
          by_inode_.erase(it);
        }
      }
      if (auto it = by_dir_.find(ev.wd); it != by_dir_.end() && !ev.name.empty()) {
        for (Input* in : it->second)
          if (base_[in] == ev.name) mark(in);
      }
      if (auto it = by_dir_.find(ev.wd);
          it != by_dir_.end() && (ev.mask & (IN_IGNORED | IN_DELETE_SELF)) != 0) {
        // `rm -r dir`: the directory's watch is gone, and a new directory
        // of that name would not be seen. tail's words, and its remedy.
        ctx_.note("directory containing watched file was removed");
        ctx_.note("inotify cannot be used, reverting to polling");
        start_polling();
        std::fill(dirty.begin(), dirty.end(), true);
        break;
      }
    }
  }
}

// The follower lives in this frame, so it outlives every operation it starts.
aio::Task<void> follow_files(State& st, std::optional<aio::Inotify> ino,
                             std::vector<Input*> files) {
  FileFollower f(st, std::move(ino), std::move(files));
  co_await f.run();
}

AIO_HOT aio::Task<void> follow_stream(State& st, Input& in) {
  Buffer buf = make_buffer(kFollowBuf);
  std::optional<Skipper> skip;
  if (st.ctx.opts.mode != Mode::Cat && st.ctx.opts.count.from_start)
    skip.emplace(st.ctx.opts.mode, st.ctx.opts.count.n, st.ctx.opts.delim);
  for (;;) {
    auto r =
        co_await aio::race(read_some(in, std::span(buf.get(), kFollowBuf)), wait_event(st.finish));
    if (r.first && *r.first > 0) {
      // A read cancelled too late still carries bytes: print them.
      std::span<const std::byte> data = std::span(buf.get(), *r.first);
      if (skip) data = skip->feed(data);
      if (auto w = co_await st.ctx.out.emit(in.src, data); !w) {
        if (!w.cancelled()) st.fail(w);
        co_return;
      }
    } else if (r.first) {
      break; // an anonymous pipe's end
    } else if (!r.first.cancelled()) {
      st.ctx.report_read(in, r.first.error());
      break;
    }
    if (st.finish.is_set() || co_await stopped()) break;
  }
  if (auto w = co_await st.ctx.out.end_of(in.src); !w && !w.cancelled()) st.fail(w);
}

aio::Task<void> wait_pid(State& st, pid_t pid) {
  auto fd = aio::pidfd_open(pid);
  if (fd)
    (void)co_await aio::race(aio::wait_exit(fd->get()), wait_event(st.finish));
  else if (fd.error() != std::errc::no_such_process)
    st.ctx.report("--pid=" + std::to_string(pid), fd.error());
  if (!co_await stopped()) {
    st.pid_ended = true;
    st.finish.set();
  }
}

aio::Task<void> wait_idle(State& st, std::chrono::nanoseconds limit) {
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    auto due = st.ctx.out.last_activity() + limit;
    if (now >= due) {
      st.finish.set();
      co_return;
    }
    (void)co_await aio::race(sleep(due - now), wait_event(st.finish));
    if (st.finish.is_set() || co_await stopped()) co_return;
  }
}

// Never ends by itself: it sets `finish` when --pid or --idle-timeout say
// so, then waits to be stopped once the followers are done.
aio::Task<aio::Result<void>> watch_end(State& st) {
  {
    aio::Scope watchers(co_await aio::stop_token());
    if (st.ctx.opts.pid) watchers.spawn(wait_pid(st, *st.ctx.opts.pid));
    if (st.ctx.opts.idle_timeout) watchers.spawn(wait_idle(st, *st.ctx.opts.idle_timeout));
    co_await watchers.join();
  }
  aio::Event never;
  co_return co_await never.wait();
}

// A device such as /dev/null has nothing to follow and is no reason to end:
// `tail -f /dev/null` is the shell's way to wait until killed.
aio::Task<void> keep_alive(State& st) { (void)co_await st.finish.wait(); }

aio::Task<aio::Result<void>> run_followers(State& st, std::vector<Input*> files,
                                           std::vector<Input*> streams, bool devices) {
  aio::Scope scope(co_await aio::stop_token());
  st.scope = &scope;
  if (devices) scope.spawn(keep_alive(st));
  if (!files.empty()) {
    auto ino = aio::Inotify::create();
    std::optional<aio::Inotify> have;
    if (ino)
      have.emplace(std::move(*ino));
    else // EMFILE, or max_user_instances reached: poll, as tail does
      st.ctx.note("inotify cannot be used, reverting to polling: " + ino.error().message());
    scope.spawn(follow_files(st, std::move(have), std::move(files)));
  }
  for (Input* in : streams)
    scope.spawn(follow_stream(st, *in));
  co_await scope.join();
  st.scope = nullptr;
  co_return st.error;
}

// Whether tail 9.1 would follow these operands by polling from the start
// rather than with inotify (its main(): a followed stdin, no open file, a
// symbolic link among the names, an open file neither regular nor a FIFO,
// or a failed first open by descriptor). Only its exit status shows it.
bool tail_would_poll(const Context& ctx, const std::vector<std::unique_ptr<Input>>& inputs) {
  if (ctx.had_error && ctx.opts.follow == Follow::Descriptor) return true;
  bool any_open = false;
  for (const auto& in : inputs) {
    const bool open = in->is_open() && !(in->is_stdin() && in->kind == Kind::Pipe);
    if (open && (in->is_stdin() || in->kind == Kind::Other)) return true;
    any_open = any_open || open;
    struct stat lst {};
    if (!in->is_stdin() && lstat(in->path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) return true;
  }
  return !any_open;
}

} // namespace

aio::Task<aio::Result<void>> follow(Context& ctx, std::vector<std::unique_ptr<Input>>& inputs) {
  std::vector<Input*> files, streams;
  bool devices = false;
  for (auto& in : inputs) {
    if (in->done) continue;
    // Also on stdin: `tail -f < /dev/null` waits too.
    if (in->is_open() && in->kind == Kind::Other) devices = true;
    // A regular file on stdin is followed by its descriptor; it has no name.
    if (in->is_stdin() && (in->kind != Kind::Regular || ctx.opts.follow == Follow::Name)) continue;
    bool missing = !in->is_open();
    // A missing name under --retry is watched for, like an open regular file.
    if ((missing && ctx.opts.retry) || (!missing && in->kind == Kind::Regular))
      files.push_back(in.get());
    else if (!missing && in->kind == Kind::Fifo)
      streams.push_back(in.get());
  }
  if (ctx.opts.follow == Follow::Descriptor) {
    // One file named twice is followed once, under its first name, as tail
    // does: each append printed once.
    std::vector<Input*> once;
    for (std::size_t i = 0; i < files.size(); ++i) {
      bool earlier = false;
      for (std::size_t j = 0; j < i && !earlier && files[i]->fd; ++j)
        earlier = files[j]->fd && files[j]->dev == files[i]->dev && files[j]->ino == files[i]->ino;
      if (!earlier) once.push_back(files[i]);
    }
    files = std::move(once);
  }
  if (files.empty() && streams.empty() && !devices) {
    // tail's end when none of its operands can be followed (a pipe on
    // stdin is not one: it is read to its end, and that is all).
    bool any_named = false;
    for (auto& in : inputs)
      any_named = any_named || !(in->is_stdin() && in->kind == Kind::Pipe);
    if (any_named && !ctx.opts.retry) {
      ctx.note("no files remaining");
      ctx.had_error = true;
    }
    co_return aio::Result<void>{};
  }
  State st{ctx,
           {},
           {},
           nullptr,
           ctx.opts.pid.has_value() || ctx.opts.idle_timeout.has_value(),
           streams.empty()};
  st.initial_error = ctx.had_error;
  st.tail_polls = tail_would_poll(ctx, inputs);
  auto r = co_await aio::race(run_followers(st, std::move(files), std::move(streams), devices),
                              watch_end(st));
  if (!r.first && !r.first.cancelled()) co_return r.first;
  // --pid's end: tail exits 0 from its inotify loop whatever was reported,
  // and from its polling loop with the first pass's status.
  if (st.pid_ended) ctx.had_error = st.status_of_polling() && st.initial_error;
  co_return aio::Result<void>{};
}

} // namespace acat
