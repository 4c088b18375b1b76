#include "copy.hpp"

#include "file_size.hpp"
#include "progress.hpp"
#include "quote.hpp"

#include "aio/buffer_pool.hpp"
#include "aio/fifo.hpp"
#include "aio/fs_ops.hpp"
#include "aio/ops.hpp"
#include "aio/scope.hpp"
#include "aio/sync.hpp"

#include <fmt/core.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace acp {

using tools::quote; // tools/common: quoted as GNU quotes, shared with acat

namespace {

// copy_file_range is called for at most this much at a time, then the loop
// is given a turn: a SIGINT is answered after at most two chunks (a few ms).
constexpr std::size_t kChunk = 2u << 20;
constexpr std::size_t kBuffer = 128u << 10; // read/write fallback, per file in flight

std::string errstr(std::error_code ec) { return ec.message(); }

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string base_name(std::string p) {
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}
std::string dir_name(std::string p) {
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

// Metadata reads on a name just listed or an fd just opened: the inode is
// in memory, no other process is waited on. (io_uring's statx always goes
// to an io-wq worker: a round trip per file for what costs a microsecond.)
aio::Result<struct statx> stat_at(int dirfd, const char* path, int flags) {
  struct statx st {};
  if (::statx(dirfd, path, flags | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &st) != 0)
    return aio::errno_code(errno);
  return st;
}

bool same_inode(const struct statx& a, const struct statx& b) {
  return a.stx_ino == b.stx_ino && a.stx_dev_major == b.stx_dev_major &&
         a.stx_dev_minor == b.stx_dev_minor;
}
bool newer(const struct statx_timestamp& a, const struct statx_timestamp& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}
bool is_dir(const struct statx& st) { return S_ISDIR(st.stx_mode); }

// ls's permission letters (rwxr-xr-x, with s/S and t/T), as cp's prompts
// show them.
std::string mode_string(mode_t m) {
  std::string r = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if ((m & (0400 >> i)) == 0) r[i] = '-';
  auto special = [&](int i, mode_t bit, char set) {
    if (m & bit) r[i] = r[i] == 'x' ? set : static_cast<char>(set - 'a' + 'A');
  };
  special(2, S_ISUID, 's');
  special(5, S_ISGID, 's');
  special(8, S_ISVTX, 't');
  return r;
}

// What cp calls the entry it creates for a source of this type (in its
// "cannot create ..." messages); `contents`: FIFOs and devices are read.
const char* kind_of(mode_t mode, bool contents) {
  if (S_ISLNK(mode)) return "symbolic link";
  if (S_ISREG(mode) || contents) return "regular file";
  if (S_ISFIFO(mode)) return "fifo";
  return "special file";
}

mode_t current_umask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

// Where an entry is read from or written to: a directory fd (held by its
// owner for as long as the entry is worked on), a name in it, and the path
// shown in messages.
using Buf = std::span<std::byte>;

// The path of a destination directory as it is now: a staged directory
// changes its name when it is put in place, and what is under it with it.
struct DirPath {
  std::shared_ptr<const DirPath> parent;
  std::string name;
  std::string str() const { return parent ? join(parent->str(), name) : name; }
};

struct Place {
  int dirfd;
  std::string name;
  std::string path;
  // A destination directory where FICLONE was refused (a file system that
  // cannot clone, or another one than the source's): its other files skip
  // the ioctl. --reflink=auto only, and copy_file_range still clones
  // where the file system can.
  bool* no_clone = nullptr;
  // Set when an existing destination is kept (-n, -u, -i answered no):
  // nothing was copied, and -v says nothing, as cp.
  bool* skipped = nullptr;
  // The directory is still hidden (see DirNode::hidden): nobody sees its
  // names, so a file is created under its final name and written there.
  bool direct = false;
  // Where the directory is now, for a hard link made to this entry later
  // (null: `path` names it).
  std::shared_ptr<const DirPath> where{};
};

// A file being written: O_TMPFILE (no name at all), a hidden name, or its
// final name in a directory nobody sees yet (`in_place`); the name is
// removed unless committed. The removal is a direct unlinkat: it runs on
// the error and stop paths, where the task's ring operations are cancelled.
struct Temp {
  aio::UniqueFd fd;
  int dirfd = -1;
  std::string name; // empty for O_TMPFILE
  bool in_place = false;
  Temp() = default;
  Temp(Temp&& o) noexcept
      : fd(std::move(o.fd)), dirfd(o.dirfd), name(std::exchange(o.name, std::string())),
        in_place(o.in_place) {}
  Temp& operator=(Temp&&) = delete;
  ~Temp() {
    if (!name.empty()) ::unlinkat(dirfd, name.c_str(), 0);
  }
};

// A directory of a tree being copied. Its fds stay open while any entry in
// it is in flight; the last one out sets the directory's mode and times
// (after its contents, so they stick), then lets go of its parent.
//
// A directory acp creates is staged: made under a hidden name, filled with
// its files under their final names (one create each, where a file put in
// a visible directory takes a create and a link), and renamed to its name
// when the last of its own files is complete. So a file still appears
// under its final path only when complete, and the tree appears directory
// by directory as it is copied. Subdirectories are walked after the
// directory's files, each staged in turn.
struct DirNode {
  DirNode* parent = nullptr;
  aio::UniqueFd src;
  aio::UniqueFd dst;
  struct statx st {};
  std::string spath, dpath;
  std::shared_ptr<DirPath> where;
  bool created = false;
  bool no_clone = false; // FICLONE refused into this directory (see Place)
  // Nobody sees its names: staged and not yet in place, or in a tree
  // built for --atomic-tree (`sealed`, which is put in place at the end).
  bool hidden = false;
  bool sealed = false;
  // Staged: renamed from `where->name` to `final_name` in `parent_fd`.
  bool staged = false;
  int parent_fd = -1;
  std::string final_name;
  unsigned pending = 1; // the walk itself, then each entry in flight
  unsigned files = 1;   // the listing, then each of its own files in flight
};

// The first copy of a multiply-linked inode: later names wait for it and link to it.
struct LinkTarget {
  aio::Event done;
  bool ok = false;
  std::string path; // for messages
  std::shared_ptr<const DirPath> dir;
  std::string name;
  std::string real() const { return dir ? join(dir->str(), name) : path; }
};

class Copier {
public:
  explicit Copier(const Options& o) : o_(o), umask_(current_umask()) {}
  aio::Task<int> run();

private:
  enum class Clash { Replace, Skip, Fail };

  template <class... A> void fail(fmt::format_string<A...> f, A&&... a) {
    ++errors_;
    if (stopped_) return; // interrupted: the ECANCELED of every op is no news
    status_.print(stderr, fmt::format("acp: {}\n", fmt::format(f, std::forward<A>(a)...)));
  }
  void report(const std::string& what, std::error_code ec) {
    if (ec == std::errc::operation_canceled) {
      ++errors_;
      return;
    }
    fail("{}: {}", what, errstr(ec));
  }
  // cp -v's line for a destination it unlinks before making it again (a
  // hard link of a file copied under -a); acp renames over it instead.
  void removed(const std::string& path) {
    if (o_.verbose) status_.print(stdout, fmt::format("removed {}\n", quote(path)));
  }
  void verbose(const std::string& from, const std::string& to) {
    if (o_.verbose) status_.print(stdout, fmt::format("{} -> {}\n", quote(from), quote(to)));
  }

  aio::Task<void> operand(std::string src, std::string dst);
  aio::Task<void> entry(aio::BufferPool::Lease lease, DirNode* node, std::string name,
                        unsigned char type);
  // `buf` is the buffer of the file's slot in flight (a pool lease held by
  // the caller): whatever a file needs it takes from there, never a second
  // lease (64 files each waiting for a 65th buffer would wait forever).
  // `in`: the source, when it is a regular file the caller opened already.
  aio::Task<void> copy_any(const Place& s, const struct statx& st, const Place& d, Buf buf,
                           aio::UniqueFd in = {});
  // `sealed`: the top of an --atomic-tree copy, under its hidden name.
  aio::Task<void> copy_dir(Place s, struct statx st, Place d, DirNode* parent, bool follow,
                           bool sealed = false);
  aio::Task<bool> copy_regular(const Place& s, const struct statx& st, const Place& d, Buf buf,
                               aio::UniqueFd in);
  aio::Task<bool> copy_stream(int in, bool fifo, Place d, mode_t mode, std::string spath, Buf buf);
  // Reads `in` to its end into `out`: a file source by offset, a stream
  // (stdin, FIFO, device) as it comes; `out` by offset when it is the temp
  // file, at its position when it is a device or a pipe.
  aio::Task<bool> pump(int in, bool in_file, int out, bool out_file, const std::string& spath,
                       const std::string& dpath, Buf buf);
  // An existing destination that is not a regular file (a device, a FIFO,
  // /dev/stdout): there is nothing to replace atomically, and replacing it
  // would put a file where a device was, so acp opens it and writes, as cp
  // does. `st`: the source's (null for stdin); `target`: the destination
  // with symlinks followed.
  aio::Task<bool> write_into(int in, const struct statx* st, std::string spath, std::string target,
                             std::string dpath, bool fifo_out, Buf buf, bool* unopened = nullptr,
                             int target_dir = AT_FDCWD);
  aio::Task<bool> copy_data(int in, int out, Buf buf, const struct statx& st, const Place& s,
                            const Place& d);
  // Where the copy stopped (at `to`, or before it at the source's end), or
  // nothing after an error (reported).
  aio::Task<std::optional<std::uint64_t>> copy_range_rw(int in, int out, Buf buf,
                                                        std::uint64_t from, std::uint64_t to,
                                                        const Place& s, const Place& d,
                                                        std::size_t zero_block = 0);
  // `spath`: the source's name, for messages.
  aio::Task<bool> commit(Temp& tmp, const Place& d, const struct statx& st,
                         const std::string& spath);
  aio::Task<bool> place_special(Place s, struct statx st, Place d);
  aio::Task<void> finish_dir(DirNode* node);
  aio::Task<aio::Result<Temp>> make_temp(const Place& d, mode_t mode);
  aio::Task<void> copy_xattrs(int in, int out, const std::string& dpath);
  Clash on_existing(const struct statx& src, const Place& s, const Place& d);
  static Clash skip(const Place& d) {
    if (d.skipped != nullptr) *d.skipped = true;
    return Clash::Skip;
  }
  void set_fd_meta(int fd, const struct statx& st, const std::string& dpath, bool created);
  void release(DirNode* node);
  // One of a directory's own files (or its listing) done; the last puts
  // a staged directory in place.
  void file_done(DirNode* node);
  void place(DirNode* node);
  // The permissions a new entry is created with (the umask applies):
  // the source's, or with --no-preserve=mode cp's defaults (0666; 0777
  // for directories and sockets).
  mode_t create_mode(mode_t src) const {
    if (!o_.preserve.explicit_no_mode) return src & 07777 & ~static_cast<mode_t>(S_IFMT);
    return S_ISDIR(src) || S_ISSOCK(src) ? 0777 : 0666;
  }
  std::string hidden_name(const std::string& base);
  // tools::size_is_trusted, its fstatfs asked once per file system (a
  // device number names one mounted file system for as long as it is up).
  bool size_is_trusted(int fd, const struct statx& st) {
    if (st.stx_size == 0) return false;
    auto key = std::pair(st.stx_dev_major, st.stx_dev_minor);
    auto it = trusted_.find(key);
    if (it == trusted_.end())
      it = trusted_.emplace(key, tools::size_is_trusted(fd, st.stx_size)).first;
    return it->second;
  }

  const Options& o_;
  mode_t umask_;
  // One file at a time with -i: its questions come in cp's order, so that
  // answers piped in go to the files they were written for.
  aio::BufferPool pool_{kBuffer, o_.interactive ? 1u : kFilesInFlight};
  aio::Scope* scope_ = nullptr;
  std::deque<aio::UniqueFd> top_fds_; // operands' directories, held to the end
  std::map<std::tuple<unsigned, unsigned, std::uint64_t>, std::shared_ptr<LinkTarget>> links_;
  struct PendingTree {
    int dirfd;
    std::string hidden, name, path;
  };
  std::vector<PendingTree> trees_;    // --atomic-tree renames, done after the copy
  Counters counted_;                  // what --progress shows
  StatusLine status_{stdout, stderr}; // the bar's line, which -v lines and messages go above
  unsigned errors_ = 0;
  unsigned serial_ = 0;
  // Staged directories not yet in place: an operand waits for them, so
  // that it sees what the ones before it copied, as with cp.
  unsigned unplaced_ = 0;
  aio::Event placed_;
  std::map<std::pair<unsigned, unsigned>, bool> trusted_;
  bool stopped_ = false;
};

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
  bool stream = !size_is_trusted(in, st);
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
      if (!o_.preserve.mode && writable && old && S_ISREG(old->stx_mode) && !o_.remove_destination)
        (void)aio::set_mode(tmp.fd.get(), old->stx_mode & 07777);
      break;
    }
    }
  }
  co_return false;
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
  co_return co_await commit(*tmp, d, st, s.path);
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
  co_return co_await commit(*tmp, d, st, spath);
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
  co_return true;
}

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
    auto in = co_await aio::openat(s.dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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
void remove_tree(int dirfd, const char* name) {
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
  co_return errors_ == 0 ? 0 : 1;
}

} // namespace

aio::Task<int> run(const Options& opts) {
  Copier c(opts);
  co_return co_await c.run();
}

} // namespace acp
