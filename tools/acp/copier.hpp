// The Copier: acp's state for one run and its steps, split by what they
// copy: copy.cpp (the operands, the run), file_copy.cpp (one file, written
// where nobody sees it and put in place whole), tree_copy.cpp (directories,
// hard links, symlinks and special files).
#pragma once

#include "file_size.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "quote.hpp"

#include "aio/buffer_pool.hpp"
#include "aio/fs_ops.hpp"
#include "aio/ops.hpp"
#include "aio/scope.hpp"
#include "aio/sync.hpp"

#include <fmt/core.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace acp::detail {

using tools::quote; // tools/common: quoted as GNU quotes, shared with acat

// copy_file_range is called for at most this much at a time, then the loop
// is given a turn: a SIGINT is answered after at most two chunks (a few ms).
inline constexpr std::size_t kChunk = 2u << 20;
inline constexpr std::size_t kBuffer = 128u << 10; // read/write fallback, per file in flight

inline std::string errstr(std::error_code ec) { return ec.message(); }

inline std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

inline std::string base_name(std::string p) {
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}
inline std::string dir_name(std::string p) {
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
inline aio::Result<struct statx> stat_at(int dirfd, const char* path, int flags) {
  struct statx st {};
  if (::statx(dirfd, path, flags | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &st) != 0)
    return aio::errno_code(errno);
  return st;
}

inline bool same_inode(const struct statx& a, const struct statx& b) {
  return a.stx_ino == b.stx_ino && a.stx_dev_major == b.stx_dev_major &&
         a.stx_dev_minor == b.stx_dev_minor;
}
inline bool newer(const struct statx_timestamp& a, const struct statx_timestamp& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}
inline bool is_dir(const struct statx& st) { return S_ISDIR(st.stx_mode); }

// ls's permission letters (rwxr-xr-x, with s/S and t/T), as cp's prompts
// show them.
inline std::string mode_string(mode_t m) {
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
inline const char* kind_of(mode_t mode, bool contents) {
  if (S_ISLNK(mode)) return "symbolic link";
  if (S_ISREG(mode) || contents) return "regular file";
  if (S_ISFIFO(mode)) return "fifo";
  return "special file";
}

inline mode_t current_umask() {
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
  bool close_dest(aio::UniqueFd& fd, const std::string& dpath);
  aio::Task<bool> put_in_place(Temp& tmp, const Place& d, const struct statx& st,
                               const std::string& spath);
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
  bool stopped_ = false;
};

} // namespace acp::detail
