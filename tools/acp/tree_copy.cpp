// Trees: directories staged and walked, hard links, symlinks and special
// files re-created.
#include "copier.hpp"

#include <dirent.h>
#include <sys/sysmacros.h>

namespace acp::detail {

aio::Task<bool> Copier::place_special(Place s, struct statx st, Place d) {
  // A symlink, FIFO, socket or device node re-created: made directly under
  // its name (one syscall, whole at once), or under a hidden name renamed
  // over an existing one.
  std::string target;
  if (S_ISLNK(st.stx_mode)) {
    auto t = aio::read_link(s.dirfd, s.name.c_str());
    if (!t) {
      report(fmt::format("cannot read symbolic link {}", quote(s.path)), t.error());
      co_return false;
    }
    target = std::move(*t);
  }
  auto make = [&](const std::string& name) -> aio::Task<aio::Result<void>> {
    if (S_ISLNK(st.stx_mode))
      co_return co_await aio::symlinkat(target.c_str(), d.dirfd, name.c_str());
    // mknodat: io_uring has no operation; it creates an inode and opens nothing.
    co_return aio::make_node(d.dirfd, name.c_str(),
                             (st.stx_mode & S_IFMT) | create_mode(st.stx_mode),
                             makedev(st.stx_rdev_major, st.stx_rdev_minor));
  };
  std::string name = d.name;
  auto r = co_await make(name);
  if (!r && r.error().value() == EEXIST) {
    switch (on_existing(st, s, d)) {
    case Clash::Skip: co_return true;
    case Clash::Fail: co_return false;
    case Clash::Replace: break;
    }
    if (o_.remove_destination) removed(d.path);
    name = hidden_name(d.name);
    r = co_await make(name);
    if (r) {
      r = co_await aio::renameat(d.dirfd, name.c_str(), d.dirfd, d.name.c_str(), 0);
      if (!r) ::unlinkat(d.dirfd, name.c_str(), 0);
    }
    name = d.name;
  }
  if (!r) {
    report(fmt::format("cannot create {} {}", kind_of(st.stx_mode, false), quote(d.path)),
           r.error());
    co_return false;
  }
  int nf = AT_SYMLINK_NOFOLLOW;
  if (o_.preserve.ownership) {
    if (!aio::set_owner(d.dirfd, name.c_str(), st.stx_uid, st.stx_gid, nf))
      (void)aio::set_owner(d.dirfd, name.c_str(), static_cast<uid_t>(-1), st.stx_gid, nf);
  }
  if (o_.preserve.mode && !S_ISLNK(st.stx_mode))
    (void)::fchmodat(d.dirfd, name.c_str(), st.stx_mode & 07777, 0);
  if (o_.preserve.timestamps)
    (void)aio::set_times(d.dirfd, name.c_str(), st.stx_atime, st.stx_mtime, nf);
  co_return true;
}

aio::Task<void> Copier::copy_any(const Place& s, const struct statx& st, const Place& d, Buf buf,
                                 aio::UniqueFd in) {
  std::shared_ptr<LinkTarget> first;
  // As cp: with -L (and -H for operands) two symlinks to one file are two
  // names of it, whatever its link count.
  bool deref = o_.deref == Deref::Always || (o_.deref == Deref::CommandLine && s.dirfd == AT_FDCWD);
  if (o_.preserve.links && (st.stx_nlink > 1 || deref) && !is_dir(st)) {
    auto key = std::tuple(st.stx_dev_major, st.stx_dev_minor, std::uint64_t{st.stx_ino});
    for (;;) {
      auto it = links_.find(key);
      if (it == links_.end()) {
        first = std::make_shared<LinkTarget>();
        first->path = d.path;
        first->dir = d.where;
        first->name = d.name;
        links_.emplace(key, first);
        break;
      }
      auto t = it->second;                                          // keeps it alive while we wait
      if (!t->done.is_set() && !co_await t->done.wait()) co_return; // stopped
      if (!t->ok) {
        // As cp, a first copy that failed is forgotten: the next name is
        // copied, and the later ones are linked to it.
        if (links_[key] == t) links_.erase(key);
        continue;
      }
      // Direct linkat: the first copy is named by a path, which a staged
      // directory above it changes when it is put in place; that rename
      // is made on this thread too, so the path is right when the link
      // is made (an io-wq worker could make it after the rename).
      auto link = [&](const std::string& name) -> aio::Result<void> {
        if (::linkat(AT_FDCWD, t->real().c_str(), d.dirfd, name.c_str(), 0) != 0)
          return aio::errno_code(errno);
        return {};
      };
      auto r = link(d.name);
      if (r) {
        verbose(s.path, d.path);
        ++counted_.files;
        if (S_ISREG(st.stx_mode)) counted_.bytes += st.stx_size; // linked, not copied
        co_return;
      }
      if (r.error().value() == EEXIST) {
        // An existing name (a tree copied again): replaced by the link, as
        // cp -a replaces it, so the names stay one file; after -n, -u, -i
        // and the same-file check, and in one rename.
        switch (on_existing(st, s, d)) {
        case Clash::Skip:
        case Clash::Fail: co_return;
        case Clash::Replace: break;
        }
        std::string hidden = hidden_name(d.name);
        r = link(hidden);
        if (r) {
          r = co_await aio::renameat(d.dirfd, hidden.c_str(), d.dirfd, d.name.c_str(), 0);
          if (!r) ::unlinkat(d.dirfd, hidden.c_str(), 0);
        }
        if (r) {
          removed(d.path);
          verbose(s.path, d.path);
          ++counted_.files;
          co_return;
        }
      }
      report(fmt::format("cannot create hard link {} to {}", quote(d.path), quote(t->path)),
             r.error());
      co_return;
    }
  }
  bool ok = false;
  bool skipped = false;
  Place to = d;
  to.skipped = &skipped;
  bool contents = !o_.recursive || o_.copy_contents;
  if (S_ISREG(st.stx_mode)) {
    ok = co_await copy_regular(s, st, to, buf, std::move(in));
  } else if (S_ISDIR(st.stx_mode)) {
    co_await copy_dir(s, st, d, nullptr, o_.follows(true));
    co_return;
  } else if (S_ISLNK(st.stx_mode) || !contents) {
    ok = co_await place_special(s, st, to);
  } else {
    // A FIFO or device read for its content (a socket cannot be opened:
    // cp says so, and so does acp).
    auto in = co_await aio::openat(s.dirfd, s.name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (!in) {
      report(fmt::format("cannot open {} for reading", quote(s.path)), in.error());
    } else {
      ok = co_await copy_stream(in->get(), S_ISFIFO(st.stx_mode), to, st.stx_mode, s.path, buf);
    }
  }
  if (ok && !skipped) {
    verbose(s.path, d.path);
    ++counted_.files;
  }
  if (first) {
    first->ok = ok;
    first->done.set();
  }
}

aio::Task<void> Copier::entry(aio::BufferPool::Lease lease, DirNode* node, std::string name,
                              unsigned char type) {
  Buf buf = lease.span(); // the file's slot in flight, given back at the end
  Place s{node->src.get(), name, join(node->spath, name)};
  Place d{node->dst.get(), name, join(node->dpath, name), &node->no_clone};
  d.direct = node->hidden;
  d.where = node->where;
  if (type == DT_REG) {
    // Listed as a regular file: opened first and stat'd by its fd, a
    // cheaper statx than one that walks the name again (a few % of the
    // CPU of a small-file tree). Anything unexpected (an open refused, an
    // entry replaced meanwhile) takes the general path below, which says
    // what cp would say.
    //
    // Opened by an io-wq worker: this thread's share of a small file
    // (copy_file_range, statx, close, the ring) is larger than the
    // workers' (the create), and an inline open would add ~4 us to it.
    auto in =
        co_await aio::openat_offloaded(s.dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in) {
      auto st = stat_at(in->get(), "", AT_EMPTY_PATH);
      if (st && S_ISREG(st->stx_mode)) {
        co_await copy_any(s, *st, d, buf, std::move(*in));
        file_done(node);
        release(node);
        co_return;
      }
    }
  }
  auto st = stat_at(s.dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW);
  if (!st) {
    report(fmt::format("cannot stat {}", quote(s.path)), st.error());
  } else if (o_.follows(false) && S_ISLNK(st->stx_mode)) {
    auto t = stat_at(s.dirfd, name.c_str(), 0);
    if (!t)
      report(fmt::format("cannot stat {}", quote(s.path)), t.error());
    else
      co_await copy_any(s, *t, d, buf);
  } else {
    co_await copy_any(s, *st, d, buf);
  }
  file_done(node);
  release(node);
}

void Copier::file_done(DirNode* node) {
  if (--node->files == 0 && node->staged) place(node);
}

void Copier::place(DirNode* node) {
  node->staged = false;
  // A direct rename: one per directory, bounded, and on the stop path too,
  // where the ring's operations are cancelled but the complete files must
  // still be put in place. RENAME_NOREPLACE: a name taken meanwhile by
  // someone else is theirs.
  const std::string hidden = node->where->name;
  if (::renameat2(node->parent_fd, hidden.c_str(), node->parent_fd, node->final_name.c_str(),
                  RENAME_NOREPLACE) == 0) {
    node->where->name = node->final_name;
    node->hidden = false;
  } else {
    int e = errno;
    // Removed under us: each of its files said so already.
    struct stat gone {};
    if (::fstat(node->dst.get(), &gone) != 0 || gone.st_nlink != 0)
      fail("cannot create directory {}: {}; its copy is left as {}", quote(node->dpath),
           errstr(aio::errno_code(e)), quote(join(dir_name(node->dpath), hidden)));
  }
  if (--unplaced_ == 0) placed_.set();
}

void Copier::release(DirNode* node) {
  if (--node->pending != 0) return;
  scope_->spawn(finish_dir(node));
}

aio::Task<void> Copier::finish_dir(DirNode* node) {
  std::unique_ptr<DirNode> own(node);
  auto token = co_await aio::stop_token();
  if (!token.stop_requested()) {
    set_fd_meta(node->dst.get(), node->st, node->dpath, node->created);
    if (o_.fsync) {
      if (auto r = co_await aio::fsync(node->dst.get()); !r)
        report(fmt::format("error syncing {}", quote(node->dpath)), r.error());
    }
  }
  DirNode* parent = node->parent;
  own.reset();
  if (parent != nullptr) release(parent);
}

aio::Task<void> Copier::copy_dir(Place s, struct statx st, Place d, DirNode* parent, bool follow,
                                 bool sealed) {
  int nofollow = follow ? 0 : O_NOFOLLOW;
  sealed = sealed || (parent != nullptr && parent->sealed);
  // The destination first, as cp: an unreadable source directory still
  // gets its (empty) copy, with its mode and times. An existing one is
  // copied into; a new one is staged (see DirNode), except inside a
  // sealed tree, which nobody sees anyway.
  bool created = true;
  bool staged = false;
  std::string made = d.name;
  if (auto ex = stat_at(d.dirfd, d.name.c_str(), AT_SYMLINK_NOFOLLOW); ex) {
    // A symlink there is not a directory (cp never copies into one met in a tree).
    if (!is_dir(*ex)) {
      fail("cannot overwrite non-directory {} with directory {}", quote(d.path), quote(s.path));
      co_return;
    }
    created = false;
  } else {
    if (!sealed) {
      made = hidden_name(d.name);
      staged = true;
    }
    auto mk = co_await aio::mkdirat(d.dirfd, made.c_str(), (st.stx_mode & 0777) | S_IRWXU);
    // A hidden name someone else has (another acp of the same PID before a
    // reboot, or a guess at it): never theirs to fill; the next one.
    for (int tries = 0; staged && !mk && mk.error().value() == EEXIST && tries < 8; ++tries) {
      made = hidden_name(d.name);
      mk = co_await aio::mkdirat(d.dirfd, made.c_str(), (st.stx_mode & 0777) | S_IRWXU);
    }
    if (!mk) {
      report(fmt::format("cannot create directory {}", quote(d.path)), mk.error());
      co_return;
    }
  }
  auto dfd =
      co_await aio::openat(d.dirfd, made.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (!dfd) {
    if (staged) ::unlinkat(d.dirfd, made.c_str(), AT_REMOVEDIR); // empty: nothing lost
    report(fmt::format("cannot open directory {}", quote(d.path)), dfd.error());
    co_return;
  }
  auto* node = new DirNode;
  node->parent = parent;
  node->dst = std::move(*dfd);
  node->st = st;
  node->spath = s.path;
  node->dpath = d.path;
  auto above =
      d.where ? d.where : std::make_shared<const DirPath>(DirPath{nullptr, dir_name(d.path)});
  node->where = std::make_shared<DirPath>(DirPath{above, made});
  node->created = created;
  node->sealed = sealed;
  node->staged = staged;
  node->hidden = staged || sealed;
  node->parent_fd = d.dirfd;
  node->final_name = d.name;
  if (staged) ++unplaced_;
  if (parent != nullptr) ++parent->pending;
  auto sfd =
      co_await aio::openat(s.dirfd, s.name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
  if (!sfd) {
    report(fmt::format("cannot access {}", quote(s.path)), sfd.error());
    file_done(node);
    release(node); // its mode and times, unless stopped
    co_return;
  }
  node->src = std::move(*sfd);
  if (created) verbose(s.path, d.path); // an existing directory is not named, as cp
  co_await copy_xattrs(node->src.get(), node->dst.get(), d.path);

  // Its files first, so that it is complete and put in place while its
  // subdirectories are copied; their names are kept meanwhile (open
  // directories are bounded by the depth, files in flight by the pool).
  std::vector<std::pair<std::string, int>> subdirs;
  aio::DirReader reader(node->src.get());
  aio::DirReader::Entry e{};
  while (reader.next(e)) {
    std::string name = e.name;
    unsigned char type = e.type;
    int follow = o_.follows(false) ? 0 : AT_SYMLINK_NOFOLLOW;
    if (type == DT_UNKNOWN || (type == DT_LNK && follow == 0)) {
      auto t = stat_at(node->src.get(), name.c_str(), follow);
      if (t && is_dir(*t)) type = DT_DIR; // else the entry reports what is wrong
    }
    if (type == DT_DIR) {
      subdirs.emplace_back(std::move(name), follow);
      continue;
    }
    auto lease = co_await pool_.acquire();
    if (!lease) break; // stopped
    ++node->pending;
    ++node->files;
    scope_->spawn(entry(std::move(*lease), node, std::move(name), type));
  }
  if (reader.error())
    report(fmt::format("cannot read directory {}", quote(s.path)), reader.error());
  file_done(node);
  for (auto& [name, follow] : subdirs) {
    if ((co_await aio::stop_token()).stop_requested()) break;
    Place cs{node->src.get(), name, join(node->spath, name)};
    auto cst = stat_at(cs.dirfd, name.c_str(), follow);
    if (!cst) {
      report(fmt::format("cannot stat {}", quote(cs.path)), cst.error());
      continue;
    }
    // A directory that is one of its own ancestors (a symlink followed
    // back up, with -L): refused as cp refuses it, or the copy would go
    // down it until a name is too long.
    bool cycle = false;
    for (const DirNode* a = node; a != nullptr && !cycle; a = a->parent)
      cycle = same_inode(a->st, *cst);
    if (cycle) {
      fail("cannot copy cyclic symbolic link {}", quote(cs.path));
      continue;
    }
    // Named, not a temporary in the co_await: GCC 12 destroys such
    // temporaries twice.
    Place cd{node->dst.get(), name, join(node->dpath, name)};
    cd.where = node->where;
    co_await copy_dir(cs, *cst, cd, node, follow == 0);
  }
  release(node);
}

} // namespace acp::detail
