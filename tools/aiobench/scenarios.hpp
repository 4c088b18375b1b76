// The five scenarios. Each adds its rows (one per strategy and variant) and
// its verdicts to the report; the strategies only supply the inner loops.
#pragma once

#include "figures.hpp"
#include "options.hpp"

#include <string>

namespace aiobench {

class Progress {
public:
  explicit Progress(bool on) : on_(on) {}
  ~Progress() { done(); }
  void show(const std::string& what);
  void done();

private:
  bool on_;
  bool shown_ = false;
};

struct Context {
  const Options& opt;
  std::string dir; // the test directory, made for this run
  Report& report;
  Progress& progress;
};

void run_cancel_storm(Context& ctx);
void run_fifo_latency(Context& ctx);
void run_file_read(Context& ctx);
void run_write_visibility(Context& ctx);
void run_shutdown(Context& ctx);

// A fresh FIFO at `path` (an old one is removed first).
void make_fifo(const std::string& path);

} // namespace aiobench
