// One file copied: into a file nobody sees (O_TMPFILE, a hidden name, or
// its final name in a staged directory), then put in place whole.
#include "copier.hpp"

#include "aio/fifo.hpp"

#include <poll.h>
#include <sys/xattr.h>

#include <algorithm>
#include <climits>

namespace acp::detail {

std::string Copier::hidden_name(const std::string& base) {
  return fmt::format(".acp-{}-{}.{}", ::getpid(), ++serial_, base.size() > 40 ? "tmp" : base);
}

aio::Task<aio::Result<Temp>> Copier::make_temp(const Place& d, mode_t mode) {
  Temp t;
  t.dirfd = d.dirfd;
  if (d.direct) {
    // A staged directory: its final name, which nobody sees until the
    // directory is put in place, when this file is complete (or removed).
    auto f = co_await aio::openat(d.dirfd, d.name.c_str(),
                                  O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
    if (f) {
      t.fd = std::move(*f);
      t.name = d.name;
      t.in_place = true;
      co_return t;
    }
    if (f.error().value() != EEXIST) co_return f.error();
    // Taken meanwhile (it cannot be, but if so): the general path, which
    // asks what to do about it.
  }
  auto fd = co_await aio::openat(d.dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (fd) {
    t.fd = std::move(*fd);
    co_return t;
  }
  auto e = fd.error().value();
  // A directory removed under us: O_TMPFILE says EPERM there, a named
  // create (and cp) ENOENT, which is what happened.
  struct stat dir {};
  if (::fstat(d.dirfd, &dir) == 0 && dir.st_nlink == 0) co_return aio::errno_code(ENOENT);
  // File systems without O_TMPFILE: a hidden name in the same directory.
  if (e != EOPNOTSUPP && e != EISDIR && e != EINVAL) co_return fd.error();
  std::string name = hidden_name(d.name);
  auto named = co_await aio::openat(d.dirfd, name.c_str(),
                                    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (!named) co_return named.error();
  t.fd = std::move(*named);
  t.name = std::move(name);
  co_return t;
}

void Copier::set_fd_meta(int fd, const struct statx& st, const std::string& dpath, bool created) {
  // Owner before mode: a chown clears setuid/setgid. An owner we may not
  // give (not root) is kept as cp keeps it: the group if we can, quietly.
  if (o_.preserve.ownership) {
    if (!aio::set_owner(fd, "", st.stx_uid, st.stx_gid, AT_EMPTY_PATH))
      (void)aio::set_owner(fd, "", static_cast<uid_t>(-1), st.stx_gid, AT_EMPTY_PATH);
  }
  if (o_.preserve.mode) {
    if (auto r = aio::set_mode(fd, st.stx_mode & 07777); !r)
      report(fmt::format("preserving permissions for {}", quote(dpath)), r.error());
  } else if (created && S_ISDIR(st.stx_mode)) {
    struct stat cur {};
    ::fstat(fd, &cur);
    // As cp -r: the sticky bit kept, setuid/setgid only as mkdir gave them;
    // with --no-preserve=mode the permissions are the default (cp sets
    // them as an ACL, which leaves those bits alone).
    mode_t perms = o_.preserve.explicit_no_mode ? 0777 & ~umask_ : st.stx_mode & 0777 & ~umask_;
    (void)aio::set_mode(fd, perms | (st.stx_mode & S_ISVTX) | (cur.st_mode & S_ISGID));
  }
  if (o_.preserve.timestamps) {
    if (auto r = aio::set_times(fd, "", st.stx_atime, st.stx_mtime, 0); !r)
      report(fmt::format("preserving times for {}", quote(dpath)), r.error());
  }
}

aio::Task<void> Copier::copy_xattrs(int in, int out, const std::string& dpath) {
  if (!o_.preserve.xattr) co_return;
  auto names = aio::list_xattrs(in);
  if (!names) co_return; // no xattrs on the source's file system
  for (const auto& n : *names) {
    auto v = aio::get_xattr(in, n.c_str());
    if (!v) continue;
    auto r = co_await aio::fsetxattr(out, n.c_str(), *v);
    if (!r && r.error().value() != ENOTSUP && r.error().value() != EPERM)
      report(fmt::format("setting attribute {} for {}", quote(n), quote(dpath)), r.error());
  }
}

aio::Task<std::optional<std::uint64_t>> Copier::copy_range_rw(int in, int out, Buf buf,
                                                              std::uint64_t from, std::uint64_t to,
                                                              const Place& s, const Place& d,
                                                              std::size_t zero_block) {
  // Across file systems (copy_file_range's EXDEV), where it is refused, and
  // for files read as streams: reads and writes through the ring, one pool
  // buffer per file. `zero_block` (--sparse=always): blocks of that size
  // that are all zeros are not written, and stay holes (the caller sets
  // the size at the end), as cp makes them.
  std::uint64_t off = from;
  while (off < to) {
    auto n = std::min<std::uint64_t>(buf.size(), to - off);
    auto r = co_await aio::read(in, buf.first(n), off);
    if (!r) {
      report(fmt::format("error reading {}", quote(s.path)), r.error());
      co_return std::nullopt;
    }
    if (*r == 0) break; // the end: truncated under us, or a stream's end
    std::size_t pos = 0;
    while (pos < *r) {
      // The next run of data blocks (everything, without zero_block).
      std::size_t end = *r;
      if (zero_block != 0) {
        auto zero = [&](std::size_t at) {
          auto b = buf.subspan(at, std::min(zero_block, *r - at));
          return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
        };
        while (pos < *r && zero(pos))
          pos += std::min(zero_block, *r - pos);
        end = pos;
        while (end < *r && !zero(end))
          end += std::min(zero_block, *r - end);
      }
      if (end > pos) {
        auto w = co_await aio::write_all(out, buf.subspan(pos, end - pos), off + pos);
        if (!w) {
          report(fmt::format("error writing {}", quote(d.path)), w.error());
          co_return std::nullopt;
        }
      }
      pos = end;
    }
    off += *r;
    counted_.bytes += *r;
  }
  co_return off;
}

aio::Task<bool> Copier::copy_data(int in, int out, Buf buf, const struct statx& st, const Place& s,
                                  const Place& d) {
  bool try_clone = o_.reflink == Reflink::Always ||
                   (o_.reflink == Reflink::Auto && (d.no_clone == nullptr || !*d.no_clone));
  if (try_clone) {
    auto c = aio::clone_file(out, in);
    if (c) {
      counted_.bytes += st.stx_size;
      co_return true;
    }
    if (o_.reflink == Reflink::Always) {
      fail("failed to clone {} from {}: {}", quote(d.path), quote(s.path), errstr(c.error()));
      co_return false;
    }
    if (d.no_clone != nullptr) *d.no_clone = true;
  }
  // A procfs or sysfs file (or one that says it is empty) is read until
  // read() says the end: its size is 0 or a page whatever it holds, and
  // copy_file_range copies nothing from procfs.
  bool stream = !tools::size_is_trusted(in, st.stx_size);
  bool holes = !stream && o_.sparse != Sparse::Never && st.stx_blocks * 512 < st.stx_size;
  // Without holes to skip, copied to its end as cp copies it: a file
  // growing meanwhile (a log) is copied as far as it has grown.
  std::uint64_t size = holes ? st.stx_size : UINT64_MAX;
  // copy_file_range may clone (XFS, Btrfs do): --reflink=never reads and
  // writes, as cp does.
  bool rw = stream || o_.reflink == Reflink::Never;
  // --sparse=always: zeros read are left as holes (so read, not copied in
  // the kernel), in blocks of the destination's size.
  std::size_t zero_block = 0;
  if (!stream && o_.sparse == Sparse::Always) {
    struct stat ost {};
    zero_block = ::fstat(out, &ost) == 0 && ost.st_blksize > 0 ? ost.st_blksize : 4096;
    zero_block = std::min(zero_block, buf.size());
    rw = true;
  }
  std::uint64_t off = 0;
  // One truncated meanwhile is copied as far as it goes.
  while (off < size) {
    std::uint64_t end = size;
    if (holes) {
      auto data = aio::seek(in, off, SEEK_DATA);
      if (!data) {
        // ENXIO: only a hole is left, or the file was truncated under us:
        // then it ends where it now ends (the tail truncate must not grow it).
        struct stat now {};
        if (::fstat(in, &now) == 0 && static_cast<std::uint64_t>(now.st_size) < size)
          size = std::max<std::uint64_t>(off, now.st_size);
        break;
      }
      auto hole = aio::seek(in, *data, SEEK_HOLE);
      counted_.bytes += *data - off; // a hole skipped is copied as far as progress goes
      off = *data;
      end = hole ? std::min(*hole, size) : size;
    }
    while (off < end) {
      if (rw) {
        auto reached = co_await copy_range_rw(in, out, buf, off, end, s, d, zero_block);
        if (!reached) co_return false;
        if (*reached < end) size = end = *reached; // the end came first
        off = end;
        break;
      }
      const std::uint64_t asked = std::min<std::uint64_t>(kChunk, end - off);
      auto n = aio::copy_range(in, off, out, off, asked);
      if (!n) {
        int e = n.error().value();
        if (e == EXDEV || e == EINVAL || e == EOPNOTSUPP || e == ENOSYS) {
          rw = true;
          continue;
        }
        report(fmt::format("error copying {} to {}", quote(s.path), quote(d.path)), n.error());
        co_return false;
      }
      if (*n == 0) {
        size = end = off; // truncated under us: what was there is copied, as cp
        break;
      }
      off += *n;
      counted_.bytes += *n;
      // Short, at or past the size the file had when it was opened: its end
      // (a file growing meanwhile was copied as far as it had grown). Asking
      // again to see 0, as cp does, is a syscall per file for nothing.
      if (!holes && *n < asked && off >= st.stx_size) {
        size = end = off;
        break;
      }
      if (off < end) {
        // A chunk done: give the loop a turn (a signal, other files' completions).
        auto y = co_await aio::nop();
        if (y.cancelled()) co_return false;
      }
    }
  }
  if (holes || zero_block != 0) {
    if (off < size) counted_.bytes += size - off;
    // The tail hole (and a file that is all hole) is a size, not data.
    if (::ftruncate(out, static_cast<off_t>(size)) != 0) {
      report(fmt::format("error writing {}", quote(d.path)), aio::errno_code(errno));
      co_return false;
    }
  }
  co_return true;
}

aio::Task<bool> Copier::commit(Temp& tmp, const Place& d, const struct statx& st,
                               const std::string& spath) {
  if (tmp.in_place) {
    tmp.name.clear(); // kept: it is where it belongs
    co_return true;
  }
  bool replace = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    aio::Result<void> r;
    if (tmp.name.empty()) {
      if (!replace) {
        r = co_await aio::linkat(tmp.fd.get(), "", d.dirfd, d.name.c_str(), AT_EMPTY_PATH);
        if (!r && (r.error().value() == ENOENT || r.error().value() == EPERM)) {
          // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on older kernels:
          // /proc/self/fd names the same open file.
          std::string proc = fmt::format("/proc/self/fd/{}", tmp.fd.get());
          r = co_await aio::linkat(AT_FDCWD, proc.c_str(), d.dirfd, d.name.c_str(),
                                   AT_SYMLINK_FOLLOW);
        }
      } else {
        // Replacing: link under a hidden name, then rename over the old
        // file in one step, so the name never stands for a partial file.
        std::string hidden = hidden_name(d.name);
        auto l = co_await aio::linkat(tmp.fd.get(), "", d.dirfd, hidden.c_str(), AT_EMPTY_PATH);
        if (!l) {
          std::string proc = fmt::format("/proc/self/fd/{}", tmp.fd.get());
          l = co_await aio::linkat(AT_FDCWD, proc.c_str(), d.dirfd, hidden.c_str(),
                                   AT_SYMLINK_FOLLOW);
        }
        if (!l) {
          report(fmt::format("cannot create regular file {}", quote(d.path)), l.error());
          co_return false;
        }
        tmp.name = hidden; // removed if the rename fails
        r = co_await aio::renameat(d.dirfd, hidden.c_str(), d.dirfd, d.name.c_str(), 0);
        if (r) tmp.name.clear();
      }
    } else {
      r = co_await aio::renameat(d.dirfd, tmp.name.c_str(), d.dirfd, d.name.c_str(),
                                 replace ? 0 : RENAME_NOREPLACE);
      if (r) tmp.name.clear();
    }
    if (r) co_return true;
    if (r.error().value() != EEXIST || replace) {
      report(fmt::format("cannot create regular file {}", quote(d.path)), r.error());
      co_return false;
    }
    Place s{-1, "", spath}; // a regular file: never a symlink to follow
    switch (on_existing(st, s, d)) {
    case Clash::Skip: co_return true;
    case Clash::Fail: co_return false;
    case Clash::Replace: {
      replace = true;
      auto old = stat_at(d.dirfd, d.name.c_str(), AT_SYMLINK_NOFOLLOW);
      // cp opens an existing file to write over it: one it may not write
      // is refused (as cp), unless -f, where cp removes it and creates a
      // new file (with the source's mode, as here).
      bool writable = !old || S_ISLNK(old->stx_mode) ||
                      ::faccessat(d.dirfd, d.name.c_str(), W_OK, AT_EACCESS) == 0;
      if (!writable && !o_.force && !o_.remove_destination) {
        report(fmt::format("cannot create regular file {}", quote(d.path)), aio::errno_code(errno));
        co_return false;
      }
      // cp -a removes a destination with other hard links rather than
      // write into a file they share (and says so with -v).
      if (o_.remove_destination || (o_.preserve.links && old && old->stx_nlink > 1))
        removed(d.path);
      // cp writes over an existing file and so keeps its permissions;
      // the new inode takes them (unless the source's are preserved).
      if (!o_.preserve.mode && writable && old && S_ISREG(old->stx_mode) &&
          !o_.remove_destination) {
        // (A named copy is closed by now: its hidden name is ours.)
        if (tmp.fd)
          (void)aio::set_mode(tmp.fd.get(), old->stx_mode & 07777);
        else
          (void)::fchmodat(d.dirfd, tmp.name.c_str(), old->stx_mode & 07777, 0);
      }
      break;
    }
    }
  }
  co_return false;
}

bool Copier::close_dest(aio::UniqueFd& fd, const std::string& dpath) {
  // Direct (see close_now): a flush that waits on NFS holds this thread
  // as cp's close holds cp.
  auto r = aio::close_now(std::move(fd));
  if (!r) report(fmt::format("failed to close {}", quote(dpath)), r.error());
  return r.ok();
}

aio::Task<bool> Copier::put_in_place(Temp& tmp, const Place& d, const struct statx& st,
                                     const std::string& spath) {
  // A write error can show only at close (NFS and FUSE flush there; cp
  // says "failed to close"). A copy with a name is closed before it is put
  // in place, so a failed close leaves nothing; an O_TMPFILE needs its fd
  // to be linked, and is closed after, as cp closes the file it wrote.
  // (Ends on a named result: see lib/README on `co_return a || b`.)
  bool ok = tmp.name.empty() || close_dest(tmp.fd, d.path);
  if (ok) ok = co_await commit(tmp, d, st, spath);
  if (ok && tmp.fd) ok = close_dest(tmp.fd, d.path);
  co_return ok;
}

aio::Task<bool> Copier::copy_regular(const Place& s, const struct statx& st, const Place& d,
                                     Buf buf, aio::UniqueFd opened) {
  // An operand (named from the cwd) follows -H's rule, an entry of a tree -r's.
  int nofollow = o_.follows(s.dirfd == AT_FDCWD) ? 0 : O_NOFOLLOW;
  aio::Result<aio::UniqueFd> in = std::move(opened);
  if (!in->valid()) {
    in = co_await aio::openat(s.dirfd, s.name.c_str(), O_RDONLY | O_CLOEXEC | nofollow);
    if (!in) {
      report(fmt::format("cannot open {} for reading", quote(s.path)), in.error());
      co_return false;
    }
  }
  auto tmp = co_await make_temp(d, create_mode(st.stx_mode) & 0777);
  if (!tmp) {
    auto old = stat_at(d.dirfd, d.name.c_str(), 0);
    if (tmp.error().value() != EACCES || !old || !S_ISREG(old->stx_mode)) {
      report(fmt::format("cannot create regular file {}", quote(d.path)), tmp.error());
      co_return false;
    }
    // A directory we may not write, holding the file: there is nowhere to
    // build the copy, so it is written into the file as cp writes it (not
    // atomically), or refused as cp refuses it.
    switch (on_existing(st, s, d)) {
    case Clash::Skip: co_return true;
    case Clash::Fail: co_return false;
    case Clash::Replace: break;
    }
    bool remove = o_.remove_destination;
    if (!remove && ::faccessat(d.dirfd, d.name.c_str(), W_OK, AT_EACCESS) != 0) {
      remove = o_.force;
      if (!remove) {
        report(fmt::format("cannot create regular file {}", quote(d.path)), aio::errno_code(errno));
        co_return false;
      }
    }
    if (remove) {
      // cp would remove it, which the directory does not allow.
      report(fmt::format("cannot remove {}", quote(d.path)), aio::errno_code(EACCES));
      co_return false;
    }
    co_return co_await write_into(in->get(), &st, s.path, d.name, d.path, false, buf, nullptr,
                                  d.dirfd);
  }
  if (!co_await copy_data(in->get(), tmp->fd.get(), buf, st, s, d)) co_return false;
  co_await copy_xattrs(in->get(), tmp->fd.get(), d.path);
  set_fd_meta(tmp->fd.get(), st, d.path, true);
  if (o_.fsync) {
    if (auto r = co_await aio::fsync(tmp->fd.get()); !r) {
      report(fmt::format("error syncing {}", quote(d.path)), r.error());
      co_return false;
    }
  }
  co_return co_await put_in_place(*tmp, d, st, s.path);
}

aio::Task<bool> Copier::pump(int in, bool in_file, int out, bool out_file, const std::string& spath,
                             const std::string& dpath, Buf buf) {
  std::uint64_t off = 0;
  for (;;) {
    aio::Result<std::size_t> r = aio::errno_code(EIO);
    if (in_file)
      r = co_await aio::read(in, buf, off);
    else
      r = co_await aio::read_ready(in, buf);
    if (!r) {
      report(fmt::format("error reading {}", quote(spath)), r.error());
      co_return false;
    }
    if (*r == 0) co_return true;
    auto w = co_await aio::write_all(out, buf.first(*r), out_file ? off : aio::kCurrentPosition);
    if (!w) {
      report(fmt::format("error writing {}", quote(dpath)), w.error());
      co_return false;
    }
    off += *r;
    counted_.bytes += *r;
  }
}

aio::Task<bool> Copier::copy_stream(int in, bool fifo, Place d, mode_t mode, std::string spath,
                                    Buf buf) {
  auto tmp = co_await make_temp(d, create_mode(mode) & 0777);
  if (!tmp) {
    report(fmt::format("cannot create regular file {}", quote(d.path)), tmp.error());
    co_return false;
  }
  if (fifo) {
    // O_NONBLOCK FIFO with no writer yet: wait for one (cp's blocking open does).
    auto p = co_await aio::poll(in, POLLIN);
    if (!p) co_return false;
  }
  if (!co_await pump(in, false, tmp->fd.get(), true, spath, d.path, buf)) co_return false;
  if (o_.fsync) (void)co_await aio::fsync(tmp->fd.get());
  struct statx st {};
  st.stx_mode = S_IFREG | mode;
  st.stx_ino = 0;
  co_return co_await put_in_place(*tmp, d, st, spath);
}

aio::Task<bool> Copier::write_into(int in, const struct statx* st, std::string spath,
                                   std::string target, std::string dpath, bool fifo_out, Buf buf,
                                   bool* unopened, int target_dir) {
  // Not `fifo_out ? co_await .. : co_await ..`: g++ 12 destroys the
  // chosen branch's UniqueFd there, closing the fd under us.
  aio::Result<aio::UniqueFd> out = aio::errno_code(EBADF);
  if (fifo_out)
    out = co_await aio::open_fifo_write(target);
  else
    out = co_await aio::openat(target_dir, target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (!out) {
    if (unopened != nullptr && o_.force) {
      // cp -f removes a destination it cannot open and creates a file:
      // acp's caller replaces it, atomically.
      *unopened = true;
      co_return false;
    }
    report(fmt::format("cannot create regular file {}", quote(dpath)), out.error());
    co_return false;
  }
  bool file = st != nullptr && S_ISREG(st->stx_mode);
  if (st != nullptr && S_ISFIFO(st->stx_mode)) {
    // O_NONBLOCK FIFO with no writer yet: wait for one (cp's blocking open does).
    auto p = co_await aio::poll(in, POLLIN);
    if (!p) co_return false;
  }
  if (!co_await pump(in, file, out->get(), false, spath, dpath, buf)) co_return false;
  // cp -p sets the mode and times of the device it wrote into, too.
  if (st != nullptr) set_fd_meta(out->get(), *st, dpath, false);
  bool closed = close_dest(*out, dpath);
  co_return closed;
}

} // namespace acp::detail
