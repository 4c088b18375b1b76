#include "report.hpp"

#include "repetitions.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>

namespace aiobench {

void Row::set(const std::string& key, double v) {
  for (auto& kv : figures)
    if (kv.first == key) {
      kv.second = v;
      return;
    }
  figures.emplace_back(key, v);
}

std::optional<double> Row::get(const std::string& key) const {
  for (const auto& kv : figures)
    if (kv.first == key) return kv.second;
  return std::nullopt;
}

Series* Row::find_series(const std::string& name) {
  for (auto& s : series)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

struct Column {
  const char* header;
  std::string key; // a figure; "a/b" shows two figures
  int precision;
  bool spread = false; // "median (min-max)" of the repetitions
  double scale = 1;    // shown as figure * scale (1e-3: thousands)
};

std::string num(std::optional<double> v, int precision) {
  if (!v) return "-";
  if (std::isnan(*v)) return "-";
  return fmt::format("{:.{}f}", *v, precision);
}

// Three significant digits, no exponent: 1372, 431, 45.2, 2.13.
std::string sig3(double v) {
  if (std::isnan(v)) return "-";
  double a = std::fabs(v);
  int decimals = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return fmt::format("{:.{}f}", v, decimals);
}

std::string cell(const Row& r, const Column& c) {
  if (c.spread) {
    auto med = r.get(c.key);
    if (!med) return "-";
    auto lo = r.get(c.key + "_min"), hi = r.get(c.key + "_max");
    std::string m = sig3(*med * c.scale);
    if (!lo || !hi) return m;
    return fmt::format("{} ({}-{})", m, sig3(*lo * c.scale), sig3(*hi * c.scale));
  }
  auto slash = c.key.find('/');
  if (slash == std::string::npos) {
    auto v = r.get(c.key);
    return num(v ? std::optional<double>(*v * c.scale) : std::nullopt, c.precision);
  }
  return num(r.get(c.key.substr(0, slash)), c.precision) + "/" +
         num(r.get(c.key.substr(slash + 1)), c.precision);
}

const std::vector<Column>& columns(const std::string& scenario) {
  static const std::map<std::string, std::vector<Column>> cols = {
      {"cancel-storm",
       {{"time ms", "wall_ms", 0},
        {"won", "reads_won", 0},
        {"cancelled", "reads_cancelled", 0},
        {"abandoned", "reads_abandoned", 0},
        {"left running", "reads_resumed", 0},
        {"lost B", "bytes_lost", 0},
        {"threads pk/end", "user_threads_peak/user_threads_end", 0},
        {"io-wq pk/end", "iowq_workers_peak/iowq_workers_end", 0},
        {"RSS KiB end", "rss_kib_end", 0},
        {"fds start/end", "fds_start/fds_end", 0}}},
      {"fifo-latency",
       {{"p50 us med (min-max)", "p50_us", 1, true},
        {"p90 us", "p90_us", 1},
        {"p99 us", "p99_us", 1},
        {"p99.9 us", "p99.9_us", 1},
        {"max us", "max_us", 0},
        {"threads pk", "user_threads_peak", 0},
        {"io-wq pk", "iowq_workers_peak", 0}}},
      {"file-read",
       {{"kIOPS med (min-max)", "iops", 0, true, 1e-3},
        {"MB/s", "mb_s", 0},
        {"p50 us med (min-max)", "p50_us", 1, true},
        {"mean us", "mean_us", 1},
        {"p99 us", "p99_us", 1},
        {"CPU us/op", "cpu_us_per_op", 2},
        {"threads pk", "user_threads_peak", 0},
        {"io-wq pk", "iowq_workers_peak", 0},
        {"iou-sqp pk", "sqpoll_threads_peak", 0}}},
      {"write-visibility",
       {{"rounds", "rounds", 0},
        {"returned early", "returned_before_written", 0},
        {"not visible", "not_visible", 0},
        {"threads pk", "user_threads_peak", 0},
        {"io-wq pk", "iowq_workers_peak", 0}}},
      {"shutdown",
       {{"exit ms", "exit_ms", 1},
        {"blocked", "blocked", 0},
        {"threads", "user_threads_peak", 0},
        {"io-wq", "iowq_workers_peak", 0}}},
  };
  static const std::vector<Column> none;
  auto it = cols.find(scenario);
  return it == cols.end() ? none : it->second;
}

std::string title(const std::string& scenario, const Options& o) {
  if (scenario == "cancel-storm")
    return fmt::format("cancel-storm: {} rounds of a FIFO read raced against a {} us timer; "
                       "a writer adds 1 byte every {} ms",
                       o.storm_rounds, o.storm_work_us, o.writer_interval_ms);
  if (scenario == "fifo-latency")
    return fmt::format("fifo-latency: 64-byte ping-pong between two processes over two FIFOs, "
                       "{} round trips in {} alternating chunks ({} pinning); p50: median "
                       "of the chunks' p50 (min-max)",
                       o.latency_rounds, o.latency_chunks, o.pin);
  if (scenario == "file-read")
    return fmt::format(
        "file-read: {} repetitions of {} s per point, interleaved (median, min-max); uring "
        "io-wq cap {}; sync at depth N = N threads; pool-per-attempt: {}; tokio-file: seek + read "
        "per read, depth N = N Files",
        o.reps, o.duration_s, o.iowq_cap > 0 ? std::to_string(o.iowq_cap) : "max(2, depth)",
        pool_job_shape(o.pool_job));
  if (scenario == "write-visibility")
    return fmt::format(
        "write-visibility: {} writes of {} KiB, each followed at once by a size check "
        "from another task",
        o.vis_rounds, o.vis_size >> 10);
  if (scenario == "shutdown")
    return fmt::format("shutdown: exit requested while a read on a silent FIFO is pending "
                       "(waited {} s before feeding the FIFO)",
                       o.shutdown_wait_s);
  return scenario;
}

const Row* find(const Report& r, const std::string& scen, const std::string& strat,
                const std::string& variant) {
  for (const auto& row : r.rows)
    if (row.scenario == scen && row.strategy == strat && row.variant == variant && !row.skipped &&
        !row.failed)
      return &row;
  return nullptr;
}

} // namespace

void add_verdicts(Report& r, const Options& opt) {
  auto& v = r.verdicts;
  if (const Row* tp = find(r, "cancel-storm", "pool-per-attempt", "")) {
    v.push_back(fmt::format(
        "cancel-storm: pool-per-attempt abandoned {:.0f} reads; {:.0f} threads were still blocked "
        "at "
        "the end (peak {:.0f}), {:.0f} jobs waited for a thread, and {:.0f} bytes were read by "
        "abandoned reads and lost.",
        tp->get_or("reads_abandoned", 0), tp->get_or("user_threads_end", 0),
        tp->get_or("user_threads_peak", 0), tp->get_or("pool_queued_end", 0),
        tp->get_or("bytes_lost", 0)));
  }
  if (const Row* t = find(r, "cancel-storm", "tokio-file", "")) {
    v.push_back(fmt::format(
        "cancel-storm: tokio-file left its read running {:.0f} times and a later read took its "
        "bytes each time ({:.0f} bytes lost, no thread added); {:.0f} user threads at peak (the "
        "driver and {:.0f} pool thread(s) started), {:.0f} still in a read at the end: a read that "
        "has started cannot be stopped.",
        t->get_or("reads_resumed", 0), t->get_or("bytes_lost", 0),
        t->get_or("user_threads_peak", 0), t->get_or("pool_threads_spawned", 0),
        t->get_or("pool_running_end", 0)));
  }
  if (const Row* u = find(r, "cancel-storm", "uring", "")) {
    v.push_back(fmt::format(
        "cancel-storm: uring cancelled {:.0f} reads in the kernel with {:.0f} "
        "user thread(s) and {:.0f} io-wq worker(s) at peak; fds {:.0f} -> {:.0f}.",
        u->get_or("reads_cancelled", 0), u->get_or("user_threads_peak", 0),
        u->get_or("iowq_workers_peak", 0), u->get_or("fds_start", 0), u->get_or("fds_end", 0)));
  }
  // Two rows are compared in words only where the spreads of their
  // repetitions do not overlap; the same rule whichever is ahead.
  if (const Row* s = find(r, "fifo-latency", "sync", "")) {
    std::string apart, close;
    for (const auto& name : opt.strategies) {
      const Row* x = find(r, "fifo-latency", name, "");
      if (x == nullptr || x == s) continue;
      if (spreads_apart(*x, *s, "p50_us"))
        apart += fmt::format("{}{} {:.2f}x", apart.empty() ? "" : ", ", name,
                             median_ratio(*x, *s, "p50_us"));
      else
        close += fmt::format("{}{}", close.empty() ? "" : ", ", name);
    }
    if (!apart.empty())
      v.push_back("fifo-latency: p50 relative to sync (spreads apart): " + apart + ".");
    if (!close.empty())
      v.push_back("fifo-latency: " + close +
                  ": p50 within sync's spread over the chunks, no difference claimed.");
  }
  // file-read: at each point, which strategies' IOPS are apart from uring's
  // (ahead or behind), with the threads each used.
  std::vector<std::string> variants;
  for (const auto& row : r.rows)
    if (row.scenario == "file-read" && !row.variant.empty() &&
        std::find(variants.begin(), variants.end(), row.variant) == variants.end())
      variants.push_back(row.variant);
  unsigned undecided = 0;
  for (const auto& var : variants) {
    const Row* u = find(r, "file-read", "uring", var);
    if (u == nullptr || u->get_or("iops", 0) <= 0) continue;
    std::string ahead, behind;
    for (const auto& name : opt.strategies) {
      const Row* t = find(r, "file-read", name, var);
      if (t == nullptr || t == u) continue;
      if (!spreads_apart(*t, *u, "iops")) {
        ++undecided;
        continue;
      }
      double ratio = median_ratio(*t, *u, "iops");
      std::string part = fmt::format("{} {:.2f}x with {:.0f} thread(s)", name, ratio,
                                     t->get_or("user_threads_peak", 0));
      std::string& to = ratio > 1 ? ahead : behind;
      to += (to.empty() ? "" : ", ") + part;
    }
    if (ahead.empty() && behind.empty()) continue;
    std::string line =
        fmt::format("file-read {}: IOPS against uring's ({:.0f} thread + {:.0f} "
                    "io-wq workers):",
                    var, u->get_or("user_threads_peak", 0), u->get_or("iowq_workers_peak", 0));
    if (!ahead.empty()) line += " ahead: " + ahead + ";";
    if (!behind.empty()) line += " behind: " + behind + ";";
    line.back() = '.';
    v.push_back(line);
  }
  if (undecided > 0)
    v.push_back(fmt::format("file-read: {} comparison(s) with uring had overlapping spreads: no "
                            "difference claimed there.",
                            undecided));
  // What cancelling means for reads, said once: true of every strategy.
  if (!variants.empty())
    v.push_back("file-read: a file read in progress cannot be cancelled by any strategy (an "
                "io_uring ASYNC_CANCEL of an in-flight O_DIRECT read gets -ENOENT and the read "
                "completes); a pending FIFO or socket read can be (see cancel-storm).");
  // A strategy that could not run here is named once, with the reason.
  std::vector<std::string> said;
  for (const auto& row : r.rows)
    if (row.unavailable && std::find(said.begin(), said.end(), row.strategy) == said.end()) {
      said.push_back(row.strategy);
      v.push_back(fmt::format("{}: {}; its rows were not measured, the others were.", row.strategy,
                              row.note));
    }
  // io-wq workers are threads too: name every place uring needed them.
  for (const auto& row : r.rows)
    if (row.strategy == "uring" && !row.skipped && !row.failed &&
        row.get_or("iowq_workers_peak", 0) > 0)
      v.push_back(
          fmt::format("{}{}: io_uring handed work to {:.0f} io-wq worker(s), kernel threads "
                      "of this process (counted in the io-wq column, not hidden).",
                      row.scenario, row.variant.empty() ? "" : " " + row.variant,
                      row.get_or("iowq_workers_peak", 0)));
  for (const auto& row : r.rows)
    if (row.scenario == "write-visibility" && !row.skipped && !row.failed &&
        row.get_or("returned_before_written", 0) > 0)
      v.push_back(fmt::format("write-visibility: {}: {:.0f} of {:.0f} writes returned while their "
                              "last bytes were still being written; {:.0f} size check(s) run at "
                              "once from another task missed them.",
                              row.strategy, row.get_or("returned_before_written", 0),
                              row.get_or("rounds", 0), row.get_or("not_visible", 0)));
  for (const auto& row : r.rows)
    if (row.scenario == "write-visibility" && !row.skipped && !row.failed &&
        row.get_or("not_visible", 0) > 0 && row.get_or("returned_before_written", 0) == 0)
      v.push_back(fmt::format("write-visibility: {}{}: {:.0f} of {:.0f} writes were reported done "
                              "before a size check from another task could see them.",
                              row.strategy, row.variant.empty() ? "" : " (" + row.variant + ")",
                              row.get_or("not_visible", 0), row.get_or("rounds", 0)));
  for (const auto& row : r.rows)
    if (row.scenario == "shutdown" && !row.skipped && !row.failed && row.get_or("blocked", 0) > 0)
      v.push_back(fmt::format("shutdown: {} could not exit while its read was pending ({:.0f} ms, "
                              "ended only when the FIFO got data).",
                              row.strategy, row.get_or("exit_ms", 0)));
}

void print_table(std::FILE* out, const Report& r, const Options& opt) {
  fmt::print(out, "aiobench {}: kernel {}, liburing {}, {} CPUs, test dir {} ({})\n",
             r.host.aiobench_version, r.host.kernel, r.host.liburing, r.host.cpus, r.host.test_dir,
             r.host.test_dir_fs);
  fmt::print(out, "threads = user threads of the process; io-wq = io_uring kernel workers "
                  "(iou-wrk-*), counted separately\n");
  for (const auto& scen : opt.scenarios) {
    std::vector<const Row*> rows;
    for (const auto& row : r.rows)
      if (row.scenario == scen) rows.push_back(&row);
    if (rows.empty()) continue;
    const auto& cols = columns(scen);
    bool has_variant =
        std::any_of(rows.begin(), rows.end(), [](const Row* x) { return !x->variant.empty(); });
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> head = {"strategy"};
    if (has_variant) head.push_back(scen == "file-read" ? "pattern/depth/mode" : "variant");
    for (const auto& c : cols)
      head.push_back(c.header);
    cells.push_back(head);
    for (const Row* row : rows) {
      std::vector<std::string> line = {row->strategy};
      if (has_variant) line.push_back(row->variant);
      // A failed row's figures are partial: its reason stands in their place.
      if (row->unavailable)
        line.push_back(row->note);
      else if (row->skipped)
        line.push_back("n/a: " + row->note);
      else if (row->failed)
        line.push_back(row->note);
      else
        for (const auto& c : cols)
          line.push_back(cell(*row, c));
      cells.push_back(line);
    }
    std::size_t fixed = has_variant ? 2 : 1; // columns before a skipped or failed row's note
    std::vector<std::size_t> width(head.size(), 0);
    for (std::size_t l = 0; l < cells.size(); ++l) {
      bool as_note = l > 0 && (rows[l - 1]->skipped || rows[l - 1]->failed);
      for (std::size_t i = 0; i < cells[l].size() && i < width.size(); ++i)
        if (!as_note || i < fixed) width[i] = std::max(width[i], cells[l][i].size());
    }
    fmt::print(out, "\n{}\n", title(scen, opt));
    for (std::size_t l = 0; l < cells.size(); ++l) {
      bool as_note = l > 0 && (rows[l - 1]->skipped || rows[l - 1]->failed);
      const auto& line = cells[l];
      std::string s;
      for (std::size_t i = 0; i < line.size(); ++i) {
        bool left = i < fixed || as_note;
        std::size_t w = as_note && i >= fixed ? 0 : width[i];
        s += left ? fmt::format("{:<{}}", line[i], w) : fmt::format("{:>{}}", line[i], w);
        if (i + 1 < line.size()) s += "  ";
      }
      while (!s.empty() && s.back() == ' ')
        s.pop_back();
      fmt::print(out, "{}\n", s);
    }
  }
  if (!r.verdicts.empty()) {
    fmt::print(out, "\nWhat the figures say:\n");
    for (const auto& v : r.verdicts)
      fmt::print(out, "- {}\n", v);
  }
  fmt::print(out, "\ntotal {:.1f} s\n", r.wall_s);
}

std::string to_json(const Report& r, const Options& opt) {
  // Ordered, so the keys come out in the order the man page lists them.
  using json = nlohmann::ordered_json;
  // NaN or infinity (a ratio of nothing) is written as null.
  auto number = [](double v) -> json {
    if (!std::isfinite(v)) return nullptr;
    if (v == std::floor(v) && std::fabs(v) < 1e15) return static_cast<std::int64_t>(v);
    return v;
  };
  json doc;
  doc["schema"] = "aiobench/2";
  doc["aiobench_version"] = r.host.aiobench_version;
  doc["host"] = {{"kernel", r.host.kernel},
                 {"liburing", r.host.liburing},
                 {"cpus", r.host.cpus},
                 {"test_dir", r.host.test_dir},
                 {"test_dir_fs", r.host.test_dir_fs}};
  doc["options"] = {{"scenarios", opt.scenarios},
                    {"strategies", opt.strategies},
                    {"patterns", opt.patterns},
                    {"modes", opt.modes},
                    {"depths", opt.depths},
                    {"reps", opt.reps},
                    {"duration_s", number(opt.duration_s)},
                    {"file_size", opt.file_size},
                    {"iowq_cap", opt.iowq_cap},
                    {"rings", opt.rings},
                    {"storm_rounds", opt.storm_rounds},
                    {"storm_work_us", opt.storm_work_us},
                    {"writer_interval_ms", opt.writer_interval_ms},
                    {"latency_rounds", opt.latency_rounds},
                    {"latency_chunks", opt.latency_chunks},
                    {"pin", opt.pin},
                    {"vis_rounds", opt.vis_rounds},
                    {"vis_size", opt.vis_size},
                    {"shutdown_wait_s", number(opt.shutdown_wait_s)},
                    {"pool_cap", opt.pool_cap},
                    {"pool_keepalive_s", number(opt.pool_keepalive_s)},
                    {"pool_job", opt.pool_job},
                    {"timeout_s", number(opt.row_timeout_s)}};
  doc["wall_s"] = number(r.wall_s);
  json results = json::array();
  for (const Row& row : r.rows) {
    json figures = json::object();
    for (const auto& [k, v] : row.figures)
      figures[k] = number(v);
    json series = json::object();
    for (const auto& s : row.series) {
      if (s.name == "lat_us") continue; // raw samples: the CDF stands for them
      json xs = json::array(), ys = json::array();
      for (double x : s.x)
        xs.push_back(number(x));
      for (double y : s.y)
        ys.push_back(number(y));
      series[s.name] = {{"x", xs}, {"y", ys}};
    }
    results.push_back({{"scenario", row.scenario},
                       {"strategy", row.strategy},
                       {"variant", row.variant},
                       {"skipped", row.skipped},
                       {"failed", row.failed},
                       {"unavailable", row.unavailable},
                       {"note", row.note},
                       {"figures", figures},
                       {"series", series}});
  }
  doc["results"] = results;
  doc["verdicts"] = r.verdicts;
  return doc.dump(2) + "\n";
}

std::string write_file(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return "";
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return fmt::format("cannot write '{}': {}", path, std::strerror(errno));
  f << text;
  f.close();
  if (!f) return fmt::format("cannot write '{}': {}", path, std::strerror(errno));
  return "";
}

} // namespace aiobench
