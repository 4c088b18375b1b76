// acp --progress: what has been copied, what there is to copy, and how it
// is shown: a bar redrawn in place on a terminal, or one line a second of
// key=value fields for scripts. Drawn from a runtime timer on the one
// thread (no thread of its own); the totals come from a counting walk that
// runs beside the copy and yields to it.
#pragma once

#include "options.hpp"

#include "aio/task.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace acp {

// Counted by the copy as it goes; the totals by count_totals().
struct Counters {
  std::uint64_t bytes = 0; // data copied (holes skipped count as copied)
  std::uint64_t files = 0; // non-directories placed
  std::uint64_t total_bytes = 0;
  std::uint64_t total_files = 0;
  bool totals_known = false; // the counting walk finished
  bool streams = false;      // a FIFO, device or stdin is read: no byte total
};

// One picture of the copy, as shown.
struct Snapshot {
  Counters c;
  double seconds = 0;  // since the start
  double rate = 0;     // bytes per second, over about the last second
  double avg_rate = 0; // bytes per second since the start (for the ETA)
  bool final = false;  // the last picture: the time taken instead of the ETA
};

// "12.3 MiB", binary units, as ls -h would round them for a person.
std::string human_bytes(double n);
// The bar, fitted to `width` columns (no newline, no escape codes).
std::string bar_line(const Snapshot& s, unsigned width);
// "bytes=N/T files=N/T rate=R eta=S" (T and S are "-" while unknown); no newline.
std::string plain_line(const Snapshot& s);

// How progress is shown for a run, from --progress, the terminal and NO_COLOR.
struct ProgressStyle {
  bool bar = false;  // redrawn in place (stderr is a terminal); else plain lines
  bool ansi = false; // erase to end of line with ESC[K; else pad with spaces
  std::chrono::milliseconds period{1000};
};
ProgressStyle progress_style(Progress mode, bool stderr_tty, bool no_color);

// The bar's line on the terminal, shared by everything acp writes there:
// a line of -v (stdout) or a message (stderr) written while the bar is
// shown would be glued to the bar's text, and the next redraw would write
// over the start of it. So lines go "above" the bar: the bar is erased, the
// lines written, and the bar drawn again below them. -v lines are gathered
// until the next redraw (at most a tenth of a second, or kPendingMax
// bytes): erasing and redrawing the bar for each of thousands of files a
// second would make the terminal, not the copy, set the pace.
class StatusLine {
public:
  static constexpr std::size_t kPendingMax = 64u << 10;
  // `out` and `err`: stdout and stderr (or streams of a test's choosing).
  StatusLine(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}
  // From now on the bar is drawn on err (a terminal). `out_shared`: out is
  // a terminal too, so its lines must not meet the bar either (a file or a
  // pipe takes them as they are).
  void start_bar(const ProgressStyle& style, bool out_shared);
  // Draws `line` in place of the bar drawn before, after the lines
  // gathered since; `final` ends it with a newline, after which the bar is
  // gone for good.
  void draw(const std::string& line, bool final);
  // Writes `text` (whole lines) to `to` (out or err), above the bar: on
  // out, at the next redraw; on err (a message), now, after those.
  void print(std::FILE* to, std::string_view text);
  // Erases the bar (before a question on the terminal); the next draw brings it back.
  void hide();

private:
  void erase(); // the bar, and the gathered lines written in its place
  void put();   // the bar drawn again
  std::FILE* out_;
  std::FILE* err_;
  ProgressStyle style_;
  bool bar_ = false;
  bool out_shared_ = false;
  bool shown_ = false;    // the bar is on the screen now (the cursor is at its end)
  std::string line_;      // the bar's text, to draw again after lines above it
  std::string pending_;   // out's lines gathered for the next redraw
  std::size_t width_ = 0; // columns drawn last (to blank without ANSI)
};

// Draws `c` on the status line every style.period until stopped, then once
// more with a final newline (on a stop too, so a shell prompt starts on its own line).
aio::Task<void> show_progress(ProgressStyle style, const Counters& c, StatusLine& status);

// Adds the sources' files and bytes to c.total_* (following symlinks as
// the copy does), yielding to the copy every few hundred entries; sets
// totals_known at the end. Entries it cannot read are left out: the copy
// reports them.
aio::Task<void> count_totals(const Options& o, std::vector<std::string> sources, Counters& c);

} // namespace acp
