#include "progress.hpp"

#include "aio/fs_ops.hpp"
#include "aio/ops.hpp"
#include "aio/unique_fd.hpp"

#include <fmt/core.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <deque>
#include <memory>

namespace acp {

std::string human_bytes(double n) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  unsigned u = 0;
  while (n >= 1024 && u + 1 < std::size(units)) {
    n /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", n) : fmt::format("{:.1f} {}", n, units[u]);
}

namespace {

std::string clock_text(double s) {
  auto t = std::llround(s);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

// Seconds left at the average rate so far, or a negative number when unknown.
double eta(const Snapshot& s) {
  if (!s.c.totals_known || s.c.streams || s.avg_rate <= 0) return -1;
  double left = s.c.total_bytes > s.c.bytes ? double(s.c.total_bytes - s.c.bytes) : 0.0;
  return left / s.avg_rate;
}

// Done as a fraction, by bytes (by files when there are no bytes to copy).
double fraction(const Counters& c) {
  if (c.total_bytes > 0) return std::min(1.0, double(c.bytes) / double(c.total_bytes));
  if (c.total_files > 0) return std::min(1.0, double(c.files) / double(c.total_files));
  return 1.0;
}

} // namespace

std::string bar_line(const Snapshot& s, unsigned width) {
  const auto& c = s.c;
  const bool sized = c.totals_known && !c.streams;
  std::string when;
  if (s.final)
    when = "in " + clock_text(s.seconds);
  else if (double e = eta(s); sized && e >= 0)
    when = "ETA " + clock_text(e);
  else
    when = c.totals_known ? "ETA -:--" : "(counting)";
  std::string stats;
  if (sized)
    stats = fmt::format("{:3.0f}%  {} / {}  {} / {} files  {}/s  {}", fraction(c) * 100,
                        human_bytes(double(c.bytes)), human_bytes(double(c.total_bytes)), c.files,
                        c.total_files, human_bytes(s.rate), when);
  else if (c.totals_known)
    stats = fmt::format("{}  {} / {} files  {}/s  {}", human_bytes(double(c.bytes)), c.files,
                        c.total_files, human_bytes(s.rate), when);
  else
    stats = fmt::format("{}  {} files  {}/s  {}", human_bytes(double(c.bytes)), c.files,
                        human_bytes(s.rate), when);
  std::string line;
  // The bar itself only where it has room to mean something; the line is
  // kept under the width (a line that wraps cannot be redrawn with \r).
  std::size_t room = width > 0 ? width - 1 : 79;
  // Its width is set by the terminal's, not by the text beside it, so that
  // it does not jump as the figures change length.
  std::size_t text = std::max<std::size_t>(stats.size(), 64);
  if (sized && room >= text + 14) {
    auto cells = std::min<std::size_t>(40, room - text - 4);
    auto full = static_cast<std::size_t>(fraction(c) * double(cells));
    line = "[" + std::string(full, '#') + std::string(cells - full, '.') + "]  ";
  }
  line += stats;
  if (line.size() > room) line.resize(room);
  return line;
}

std::string plain_line(const Snapshot& s) {
  const auto& c = s.c;
  auto total = [&](std::uint64_t t, bool known) { return known ? fmt::format("{}", t) : "-"; };
  double e = s.final ? 0 : eta(s);
  return fmt::format("bytes={}/{} files={}/{} rate={:.0f} eta={}", c.bytes,
                     total(c.total_bytes, c.totals_known && !c.streams), c.files,
                     total(c.total_files, c.totals_known), s.rate,
                     e < 0 ? std::string("-") : fmt::format("{:.0f}", e));
}

ProgressStyle progress_style(Progress mode, bool stderr_tty, bool no_color) {
  ProgressStyle st;
  // A bar needs a terminal to redraw on; anywhere else the bar is the
  // plain lines (a log gets one line a second, not a hundred \r's).
  st.bar = mode == Progress::Bar && stderr_tty;
  st.ansi = st.bar && !no_color;
  st.period = std::chrono::milliseconds(st.bar ? 100 : 1000);
  return st;
}

void StatusLine::start_bar(const ProgressStyle& style, bool out_shared) {
  style_ = style;
  bar_ = style.bar;
  out_shared_ = out_shared;
}

void StatusLine::put() {
  std::string out = "\r" + line_;
  if (style_.ansi)
    out += "\x1b[K";
  else if (line_.size() < width_)
    out += std::string(width_ - line_.size(), ' ');
  width_ = line_.size();
  std::fputs(out.c_str(), err_);
  std::fflush(err_);
  shown_ = true;
}

void StatusLine::erase() {
  if (shown_) {
    // Without ANSI: blanks over the bar, and back to the line's start.
    std::string out = style_.ansi ? "\r\x1b[K" : "\r" + std::string(width_, ' ') + "\r";
    std::fputs(out.c_str(), err_);
    std::fflush(err_);
    shown_ = false;
    width_ = 0;
  }
  if (!pending_.empty()) {
    std::fwrite(pending_.data(), 1, pending_.size(), out_);
    std::fflush(out_); // on the screen before the bar is drawn below
    pending_.clear();
  }
}

void StatusLine::draw(const std::string& line, bool final) {
  if (!bar_) return;
  line_ = line;
  if (!pending_.empty()) erase();
  put();
  if (final) {
    std::fputs("\n", err_);
    std::fflush(err_);
    shown_ = false;
    bar_ = false; // the last picture stays; later lines go below it
  }
}

void StatusLine::print(std::FILE* to, std::string_view text) {
  if (!shown_ || (to == out_ && !out_shared_)) {
    std::fwrite(text.data(), 1, text.size(), to);
    return;
  }
  if (to == out_) {
    pending_.append(text);
    if (pending_.size() >= kPendingMax) {
      erase();
      put();
    }
    return;
  }
  erase();
  std::fwrite(text.data(), 1, text.size(), to);
  std::fflush(to);
  put();
}

void StatusLine::hide() { erase(); }

aio::Task<void> show_progress(ProgressStyle style, const Counters& c, StatusLine& status) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::deque<std::pair<double, std::uint64_t>> window; // the last second's samples
  auto draw = [&](bool final) {
    Snapshot s;
    s.c = c;
    s.seconds = std::chrono::duration<double>(clock::now() - t0).count();
    window.emplace_back(s.seconds, c.bytes);
    while (window.size() > 2 && window.front().first < s.seconds - 1.0)
      window.pop_front();
    double span = window.back().first - window.front().first;
    s.rate = span > 0 ? double(window.back().second - window.front().second) / span : 0;
    s.avg_rate = s.seconds > 0 ? double(c.bytes) / s.seconds : 0;
    s.final = final;
    if (final && s.seconds > 0) s.rate = s.avg_rate; // the end shows the whole run's rate
    // Writes to stderr are direct: one short line, at most ten a second.
    if (!style.bar) {
      status.print(stderr, plain_line(s) + "\n");
      return;
    }
    winsize ws{};
    unsigned width = ::ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    status.draw(bar_line(s, width), final);
  };
  for (;;) {
    auto r = co_await aio::sleep_for(style.period);
    if (!r) break; // stopped: the copy ended or was interrupted
    draw(false);
  }
  draw(true);
}

namespace {

struct Level {
  aio::UniqueFd fd;
  aio::DirReader reader;
  explicit Level(int f) : fd(f), reader(f) {}
};

void add(Counters& c, const struct stat& st, bool contents) {
  ++c.total_files;
  if (S_ISREG(st.st_mode)) c.total_bytes += static_cast<std::uint64_t>(st.st_size);
  // A FIFO or device read for its content has no size to count on.
  if (contents && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
    c.streams = true;
}

} // namespace

aio::Task<void> count_totals(const Options& o, std::vector<std::string> sources, Counters& c) {
  // Direct getdents64/fstatat on the loop thread, as the copy's own walk:
  // metadata of inodes the copy is about to read anyway; a turn is given
  // back every 256 entries. Memory: one open directory per level.
  unsigned n = 0;
  const int in_tree = o.follows(false) ? 0 : AT_SYMLINK_NOFOLLOW;
  const bool contents = !o.recursive || o.copy_contents; // as the copy decides
  for (const auto& s : sources) {
    struct stat st {};
    if (is_stdin_operand(s)) {
      ++c.total_files;
      c.streams = true;
      continue;
    }
    if (::fstatat(AT_FDCWD, s.c_str(), &st, o.follows(true) ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (!S_ISDIR(st.st_mode)) {
      add(c, st, contents);
      continue;
    }
    if (!o.recursive) continue;
    std::vector<std::unique_ptr<Level>> stack;
    int fd = ::open(s.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) stack.push_back(std::make_unique<Level>(fd));
    aio::DirReader::Entry e{};
    while (!stack.empty()) {
      auto& top = *stack.back();
      if (!top.reader.next(e)) {
        stack.pop_back();
        continue;
      }
      if (++n % 256 == 0) {
        auto y = co_await aio::nop();
        if (y.cancelled()) co_return;
      }
      if (e.type == DT_DIR || (e.type != DT_REG && (e.type != DT_LNK || in_tree == 0))) {
        if (::fstatat(top.fd.get(), e.name, &st, in_tree) != 0) continue;
      } else if (e.type == DT_REG) {
        if (::fstatat(top.fd.get(), e.name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      } else {
        ++c.total_files; // a symlink copied as one
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        int sub = ::openat(top.fd.get(), e.name,
                           O_RDONLY | O_DIRECTORY | O_CLOEXEC | (in_tree ? O_NOFOLLOW : 0));
        if (sub >= 0) stack.push_back(std::make_unique<Level>(sub));
      } else {
        add(c, st, contents);
      }
    }
  }
  c.totals_known = true;
}

} // namespace acp
