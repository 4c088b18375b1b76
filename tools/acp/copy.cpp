#include "copy.hpp"

#include "copier.hpp"

#include <dirent.h>

#include <cstdlib>
#include <iostream>
#include <set>

namespace acp::detail {

Copier::Clash Copier::on_existing(const struct statx& src, const Place& s, const Place& d) {
  auto dst = stat_at(d.dirfd, d.name.c_str(), AT_SYMLINK_NOFOLLOW);
  if (!dst) return Clash::Replace; // went away meanwhile
  // cp -n looks no further than the name being taken (not even for the
  // same file).
  if (o_.no_clobber) return skip(d);
  // As cp: a symlink is the same file as what it names when the other
  // side is not a symlink (replacing a file by a symlink to itself would
  // lose it; writing a file through a symlink to itself would truncate it).
  bool same = same_inode(src, *dst);
  if (!same && S_ISLNK(src.stx_mode) != S_ISLNK(dst->stx_mode)) {
    auto a = S_ISLNK(src.stx_mode) ? stat_at(s.dirfd, s.name.c_str(), 0)
                                   : aio::Result<struct statx>(src);
    auto b = S_ISLNK(dst->stx_mode) ? stat_at(d.dirfd, d.name.c_str(), 0) : dst;
    same = a && b && same_inode(*a, *b);
  }
  if (same) {
    fail("{} and {} are the same file", quote(s.path), quote(d.path));
    return Clash::Fail;
  }
  if (is_dir(*dst) && !is_dir(src)) {
    fail("cannot overwrite directory {} with non-directory", quote(d.path));
    return Clash::Fail;
  }
  if (o_.update && !newer(src.stx_mtime, dst->stx_mtime)) return skip(d);
  if (o_.interactive) {
    // A question on stderr, the answer a line of stdin (a terminal or a
    // pipe, as cp reads it): the copy waits for it, as cp's does.
    status_.hide(); // the question and its answer on a line of their own
    if (!S_ISLNK(dst->stx_mode) && ::faccessat(d.dirfd, d.name.c_str(), W_OK, AT_EACCESS) != 0)
      fmt::print(stderr,
                 fmt::runtime(o_.force ? "acp: replace {}, overriding mode {:04o} ({})? "
                                       : "acp: unwritable {} (mode {:04o}, {}); try anyway? "),
                 quote(d.path), dst->stx_mode & 07777, mode_string(dst->stx_mode));
    else
      fmt::print(stderr, "acp: overwrite {}? ", quote(d.path));
    std::fflush(stderr);
    std::string line;
    if (!std::getline(std::cin, line) || (line.empty() || (line[0] != 'y' && line[0] != 'Y')))
      return skip(d);
  }
  return Clash::Replace;
}

aio::Task<void> Copier::operand(std::string src, std::string dst) {
  if (is_stdin_operand(src)) {
    if (auto t = stat_at(AT_FDCWD, dst.c_str(), 0); t && !S_ISREG(t->stx_mode) && !is_dir(*t)) {
      if (o_.no_clobber) co_return;
      auto lease = co_await pool_.acquire();
      if (!lease) co_return;
      if (co_await write_into(0, nullptr, src, dst, dst, S_ISFIFO(t->stx_mode), lease->span())) {
        verbose(src, dst);
        ++counted_.files;
      }
      co_return;
    }
    auto dirfd =
        co_await aio::openat(AT_FDCWD, dir_name(dst).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!dirfd) {
      report(fmt::format("cannot create regular file {}", quote(dst)), dirfd.error());
      co_return;
    }
    struct stat in {};
    ::fstat(0, &in);
    Place d{dirfd->get(), base_name(dst), dst};
    std::string name = "-";
    auto lease = co_await pool_.acquire();
    if (!lease) co_return;
    bool skipped = false;
    d.skipped = &skipped;
    if (co_await copy_stream(0, false, d, 0666, name, lease->span()) && !skipped) verbose(src, dst);
    co_return;
  }
  int follow = o_.follows(true) ? 0 : AT_SYMLINK_NOFOLLOW;
  auto st = stat_at(AT_FDCWD, src.c_str(), follow);
  if (!st) {
    report(fmt::format("cannot stat {}", quote(src)), st.error());
    co_return;
  }
  // The destination: through a symlink to an existing file as cp writes
  // through it; never through a dangling or looping one.
  std::string dpath = dst;
  auto lst = stat_at(AT_FDCWD, dst.c_str(), AT_SYMLINK_NOFOLLOW);
  if (!lst && lst.error().value() != ENOENT) {
    // 'file/x' or 'file/': cp says so, and writes nothing.
    report(fmt::format("cannot stat {}", quote(dst)), lst.error());
    co_return;
  }
  if (!lst && dst.size() > 1 && dst.back() == '/' && !is_dir(*st)) {
    // A new name with a trailing slash names a directory: cp's create of
    // a file there fails (and so must acp's, which would otherwise
    // create the name without its slash).
    auto pst = stat_at(AT_FDCWD, dir_name(dst).c_str(), 0);
    bool contents = !o_.recursive || o_.copy_contents;
    std::string kind = kind_of(st->stx_mode, contents);
    // open(O_CREAT) of 'x/' says ENOTDIR, symlink() and mknod() ENOENT.
    int e = !pst ? pst.error().value() : kind == "regular file" ? ENOTDIR : ENOENT;
    report(fmt::format("cannot create {} {}", kind, quote(dst)), aio::errno_code(e));
    co_return;
  }
  std::optional<struct statx> dstat;
  if (lst) {
    dstat = *lst;
    if (S_ISLNK(lst->stx_mode) && !S_ISLNK(st->stx_mode) && !(is_dir(*st))) {
      auto target = stat_at(AT_FDCWD, dst.c_str(), 0);
      if (!target && target.error().value() == ENOENT) {
        fail("not writing through dangling symlink {}", quote(dst));
        co_return;
      }
      if (!target) {
        report(fmt::format("cannot stat {}", quote(dst)), target.error());
        co_return;
      }
      char* real = ::realpath(dst.c_str(), nullptr);
      if (real != nullptr) {
        dpath = real;
        std::free(real);
      }
      dstat = *target;
    }
  }
  if (dstat && same_inode(*st, *dstat) && !o_.no_clobber) {
    fail("{} and {} are the same file", quote(src), quote(dst));
    co_return;
  }
  if (is_dir(*st)) {
    if (!o_.recursive) {
      fail("-r not specified; omitting directory {}", quote(src));
      co_return;
    }
    char* rs = ::realpath(src.c_str(), nullptr);
    char* rp = ::realpath(dir_name(dst).c_str(), nullptr);
    if (rs != nullptr && rp != nullptr) {
      std::string s = rs, t = join(rp, base_name(dst));
      if (t == s || t.rfind(s + "/", 0) == 0) {
        std::free(rs);
        std::free(rp);
        fail("cannot copy a directory, {}, into itself, {}", quote(src), quote(dst));
        co_return;
      }
    }
    std::free(rs);
    std::free(rp);
    if (dstat && !is_dir(*dstat)) {
      fail("cannot overwrite non-directory {} with directory {}", quote(dst), quote(src));
      co_return;
    }
  } else if (dstat && is_dir(*dstat)) {
    fail("cannot overwrite directory {} with non-directory", quote(dst));
    co_return;
  } else if (dstat && !S_ISREG(dstat->stx_mode) && !S_ISLNK(dstat->stx_mode) &&
             !S_ISLNK(st->stx_mode) && !o_.remove_destination &&
             (S_ISREG(st->stx_mode) || !o_.recursive || o_.copy_contents)) {
    switch (on_existing(*st, Place{AT_FDCWD, src, src}, Place{AT_FDCWD, dpath, dst})) {
    case Clash::Skip:
    case Clash::Fail: co_return;
    case Clash::Replace: break;
    }
    int nonblock = S_ISREG(st->stx_mode) ? 0 : O_NONBLOCK;
    auto in = co_await aio::openat(AT_FDCWD, src.c_str(), O_RDONLY | O_CLOEXEC | nonblock);
    if (!in) {
      report(fmt::format("cannot open {} for reading", quote(src)), in.error());
      co_return;
    }
    auto lease = co_await pool_.acquire();
    if (!lease) co_return;
    scope_->spawn([](Copier* self, aio::BufferPool::Lease l, aio::UniqueFd in, struct statx st,
                     std::string src, std::string target, std::string dst,
                     bool fifo) -> aio::Task<void> {
      bool unopened = false;
      bool ok =
          co_await self->write_into(in.get(), &st, src, target, dst, fifo, l.span(), &unopened);
      if (unopened) {
        auto parent = co_await aio::openat(AT_FDCWD, dir_name(target).c_str(),
                                           O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (!parent) {
          self->report(fmt::format("cannot create regular file {}", quote(dst)), parent.error());
          co_return;
        }
        Place s{AT_FDCWD, src, src};
        Place d{parent->get(), base_name(target), dst};
        if (S_ISREG(st.stx_mode))
          ok = co_await self->copy_regular(s, st, d, l.span(), std::move(in));
        else
          ok = co_await self->copy_stream(in.get(), S_ISFIFO(st.stx_mode), d, st.stx_mode, src,
                                          l.span());
      }
      if (ok) {
        self->verbose(src, dst);
        ++self->counted_.files;
      }
    }(this, std::move(*lease), std::move(*in), *st, src, dpath, dst, S_ISFIFO(dstat->stx_mode)));
    co_return;
  }
  auto parent =
      co_await aio::openat(AT_FDCWD, dir_name(dpath).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (!parent) {
    report(
        fmt::format("cannot create {} {}", is_dir(*st) ? "directory" : "regular file", quote(dst)),
        parent.error());
    co_return;
  }
  int pfd = parent->get();
  top_fds_.push_back(std::move(*parent));
  Place s{AT_FDCWD, src, src};
  Place d{pfd, base_name(dpath), dst};
  d.where = std::make_shared<const DirPath>(DirPath{nullptr, dir_name(dpath)});
  if (is_dir(*st)) {
    bool sealed = false;
    if (o_.atomic_tree) {
      if (dstat) {
        fail("--atomic-tree: destination {} exists", quote(dst));
        co_return;
      }
      std::string hidden = hidden_name("tree");
      trees_.push_back({pfd, hidden, d.name, dst});
      d.name = hidden;
      sealed = true;
    }
    co_await copy_dir(s, *st, d, nullptr, o_.follows(true), sealed);
    co_return;
  }
  auto lease = co_await pool_.acquire();
  if (!lease) co_return;
  scope_->spawn([](Copier* self, aio::BufferPool::Lease l, Place s, struct statx st,
                   Place d) -> aio::Task<void> {
    co_await self->copy_any(std::move(s), st, std::move(d), l.span());
  }(this, std::move(*lease), s, *st, d));
}

// Removes a tree built for --atomic-tree that is not to be renamed into
// place: direct calls, on the stop and error paths where ring operations
// are cancelled; bounded by the (partial) tree just written.
static void remove_tree(int dirfd, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    aio::UniqueFd own(fd);
    aio::DirReader r(fd);
    aio::DirReader::Entry e{};
    std::vector<std::string> names;
    while (r.next(e))
      names.emplace_back(e.name);
    for (const auto& n : names)
      if (::unlinkat(fd, n.c_str(), 0) != 0 && errno == EISDIR) remove_tree(fd, n.c_str());
  }
  ::unlinkat(dirfd, name, AT_REMOVEDIR);
}

aio::Task<int> Copier::run() {
  auto missing = aio::fs_ops_missing();
  if (!missing.empty()) {
    std::string list;
    for (auto& m : missing)
      list += (list.empty() ? "" : ", ") + m;
    fmt::print(stderr, "acp: this kernel's io_uring lacks: {}\n", list);
    co_return 1;
  }
  // --strip-trailing-slashes, as cp applies it: to sources copied into a directory.
  auto strip = [&](std::string s) {
    while (o_.strip_trailing_slashes && s.size() > 1 && s.back() == '/')
      s.pop_back();
    return s;
  };
  std::vector<std::pair<std::string, std::string>> jobs;
  bool into_target = true; // each SOURCE copied into a directory
  auto ops = o_.operands;
  if (o_.target_dir) {
    auto t = stat_at(AT_FDCWD, o_.target_dir->c_str(), 0);
    if (!t || !is_dir(*t)) {
      fail("target directory {}: {}", quote(*o_.target_dir),
           errstr(t ? aio::errno_code(ENOTDIR) : t.error()));
      co_return 1;
    }
    for (auto& s : ops)
      jobs.emplace_back(strip(s), join(*o_.target_dir, base_name(s)));
  } else {
    std::string last = ops.back();
    ops.pop_back();
    auto t = stat_at(AT_FDCWD, last.c_str(), 0);
    bool into = !o_.no_target_dir && t && is_dir(*t);
    if (o_.no_target_dir || (ops.size() == 1 && !into)) {
      jobs.emplace_back(ops[0], last);
      into_target = false;
    } else if (!into) {
      fail("target {}: {}", quote(last), errstr(t ? aio::errno_code(ENOTDIR) : t.error()));
      co_return 1;
    } else {
      for (auto& s : ops)
        jobs.emplace_back(strip(s), join(last, base_name(s)));
    }
  }

  // --progress: the display and the counting walk, in a scope of their own
  // so that the copy's join does not wait for them.
  aio::Scope ui(co_await aio::stop_token());
  if (o_.progress != Progress::None) {
    const char* nc = std::getenv("NO_COLOR");
    auto style = progress_style(o_.progress, ::isatty(2) != 0, nc != nullptr && *nc != '\0');
    status_.start_bar(style, ::isatty(1) != 0);
    std::vector<std::string> sources;
    sources.reserve(jobs.size());
    for (auto& j : jobs)
      sources.push_back(j.first);
    ui.spawn(count_totals(o_, std::move(sources), counted_));
    ui.spawn(show_progress(style, counted_, status_));
  }
  aio::Scope scope(co_await aio::stop_token());
  scope_ = &scope;
  // cp copies a source named twice into a directory once, and warns: the
  // same directory entry (not another hard link, nor a symlink to it).
  std::set<std::tuple<unsigned, unsigned, std::uint64_t, std::uint64_t, std::string>> seen;
  bool into_dir = jobs.size() >= 2 || o_.target_dir;
  for (auto& [s, d] : jobs) {
    if (into_target && base_name(s).empty() && o_.recursive) {
      // '/' into a directory: it has no name to be copied under. cp's
      // mkdir of the empty name fails so; acp would copy into DIRECTORY
      // itself (the whole file system, for 'acp -r / dir').
      if (auto st = stat_at(AT_FDCWD, s.c_str(), 0); st && is_dir(*st)) {
        report(fmt::format("cannot create directory {}", quote(d)), aio::errno_code(ENOENT));
        continue;
      }
    }
    if (into_dir && !is_stdin_operand(s)) {
      auto st = stat_at(AT_FDCWD, s.c_str(), o_.follows(true) ? 0 : AT_SYMLINK_NOFOLLOW);
      if (st && (!is_dir(*st) || o_.recursive)) {
        // A directory is the same operand only copied to the same name.
        std::string to = is_dir(*st) ? base_name(d) : base_name(s);
        auto parent = stat_at(AT_FDCWD, dir_name(s).c_str(), 0);
        std::uint64_t pino = is_dir(*st) || !parent ? 0 : parent->stx_ino;
        if (!seen.emplace(st->stx_dev_major, st->stx_dev_minor, st->stx_ino, pino, to).second) {
          status_.print(stderr, fmt::format("acp: warning: source {} {} specified more than once\n",
                                            is_dir(*st) ? "directory" : "file", quote(s)));
          continue;
        }
      }
    }
    while (unplaced_ != 0) {
      placed_.reset();
      if (!co_await placed_.wait()) break; // stopped
    }
    if ((co_await aio::stop_token()).stop_requested()) break;
    co_await operand(s, d);
    if ((co_await aio::stop_token()).stop_requested()) break;
  }
  co_await scope.join();
  stopped_ = (co_await aio::stop_token()).stop_requested();
  for (auto& t : trees_) {
    if (errors_ == 0 && !stopped_) {
      auto r = co_await aio::renameat(t.dirfd, t.hidden.c_str(), t.dirfd, t.name.c_str(),
                                      RENAME_NOREPLACE);
      if (r) {
        if (o_.fsync) (void)co_await aio::fsync(t.dirfd);
        continue;
      }
      report(fmt::format("cannot move the tree into place as {}", quote(t.path)), r.error());
    }
    remove_tree(t.dirfd, t.hidden.c_str());
  }
  if (o_.fsync && !stopped_) {
    for (auto& fd : top_fds_)
      if (auto r = co_await aio::fsync(fd.get()); !r) ++errors_;
  }
  ui.request_stop();
  co_await ui.join();
  const int rc = errors_ == 0 ? 0 : 1;
  co_return rc;
}

} // namespace acp::detail

namespace acp {

aio::Task<int> run(const Options& opts) {
  detail::Copier c(opts);
  co_return co_await c.run();
}

} // namespace acp
