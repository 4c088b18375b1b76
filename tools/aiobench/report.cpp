#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
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
};

std::string num(std::optional<double> v, int precision) {
  if (!v) return "-";
  if (std::isnan(*v)) return "-";
  return fmt::format("{:.{}f}", *v, precision);
}

std::string cell(const Row& r, const Column& c) {
  auto slash = c.key.find('/');
  if (slash == std::string::npos) return num(r.get(c.key), c.precision);
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
        {"lost B", "bytes_lost", 0},
        {"threads pk/end", "user_threads_peak/user_threads_end", 0},
        {"io-wq pk/end", "iowq_workers_peak/iowq_workers_end", 0},
        {"RSS KiB end", "rss_kib_end", 0},
        {"fds start/end", "fds_start/fds_end", 0}}},
      {"fifo-latency",
       {{"p50 us", "p50_us", 1},
        {"p90 us", "p90_us", 1},
        {"p99 us", "p99_us", 1},
        {"p99.9 us", "p99.9_us", 1},
        {"max us", "max_us", 0},
        {"threads pk", "user_threads_peak", 0},
        {"io-wq pk", "iowq_workers_peak", 0}}},
      {"file-read",
       {{"IOPS", "iops", 0},
        {"MB/s", "mb_s", 0},
        {"p50 us", "p50_us", 1},
        {"p99 us", "p99_us", 1},
        {"CPU us/op", "cpu_us_per_op", 2},
        {"threads pk", "user_threads_peak", 0},
        {"io-wq pk", "iowq_workers_peak", 0}}},
      {"write-visibility",
       {{"rounds", "rounds", 0},
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
                       "{} round trips in {} alternating chunks ({} pinning)",
                       o.latency_rounds, o.latency_chunks, o.pin);
  if (scenario == "file-read")
    return fmt::format(
        "file-read: {} s per point; uring io-wq cap {}; sync at depth N = N threads; "
        "threadpool: {}",
        o.duration_s, o.iowq_cap > 0 ? std::to_string(o.iowq_cap) : "max(2, depth)",
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

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20)
        out += fmt::format("\\u{:04x}", c);
      else
        out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_num(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
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
  if (const Row* tp = find(r, "cancel-storm", "threadpool", "")) {
    v.push_back(fmt::format(
        "cancel-storm: the thread pool abandoned {:.0f} reads; {:.0f} threads were still blocked "
        "at "
        "the end (peak {:.0f}), {:.0f} jobs waited for a thread, and {:.0f} bytes were read by "
        "abandoned reads and lost.",
        tp->get_or("reads_abandoned", 0), tp->get_or("user_threads_end", 0),
        tp->get_or("user_threads_peak", 0), tp->get_or("pool_queued_end", 0),
        tp->get_or("bytes_lost", 0)));
  }
  if (const Row* u = find(r, "cancel-storm", "uring", "")) {
    v.push_back(fmt::format(
        "cancel-storm: uring cancelled {:.0f} reads in the kernel with {:.0f} "
        "user thread(s) and {:.0f} io-wq worker(s) at peak; fds {:.0f} -> {:.0f}.",
        u->get_or("reads_cancelled", 0), u->get_or("user_threads_peak", 0),
        u->get_or("iowq_workers_peak", 0), u->get_or("fds_start", 0), u->get_or("fds_end", 0)));
  }
  if (const Row* s = find(r, "fifo-latency", "sync", "")) {
    double base = s->get_or("p50_us", 0);
    std::string parts;
    for (const char* name : {"uring", "threadpool", "epoll"})
      if (const Row* x = find(r, "fifo-latency", name, ""); x && base > 0)
        parts += fmt::format("{}{} {:.2f}x", parts.empty() ? "" : ", ", name,
                             x->get_or("p50_us", 0) / base);
    if (!parts.empty()) v.push_back("fifo-latency: p50 relative to sync: " + parts + ".");
  }
  // file-read: say plainly where threads win on throughput, and their price.
  std::vector<std::string> variants;
  for (const auto& row : r.rows)
    if (row.scenario == "file-read" && !row.variant.empty() &&
        std::find(variants.begin(), variants.end(), row.variant) == variants.end())
      variants.push_back(row.variant);
  // One line per point where threads beat uring (with their price), and one
  // summary of uring against the pool, so the list stays readable.
  unsigned points = 0, uring_ahead = 0;
  double pool_threads = 0;
  for (const auto& var : variants) {
    const Row* u = find(r, "file-read", "uring", var);
    if (u == nullptr || u->get_or("iops", 0) <= 0) continue;
    double ui = u->get_or("iops", 0);
    std::string winners;
    for (const char* name : {"threadpool", "sync"}) {
      const Row* t = find(r, "file-read", name, var);
      if (t == nullptr) continue;
      double ratio = t->get_or("iops", 0) / ui;
      if (std::string(name) == "threadpool") {
        ++points;
        if (ratio < 1) ++uring_ahead;
        pool_threads = std::max(pool_threads, t->get_or("user_threads_peak", 0));
      }
      if (ratio > 1.05)
        winners += fmt::format("{}{} {:.2f}x uring's IOPS with {:.0f} thread(s)",
                               winners.empty() ? "" : ", ", name, ratio,
                               t->get_or("user_threads_peak", 0));
    }
    if (!winners.empty())
      v.push_back(fmt::format("file-read {}: threads win on throughput: {} (uring: {:.0f} thread + "
                              "{:.0f} io-wq workers); their reads cannot be cancelled.",
                              var, winners, u->get_or("user_threads_peak", 0),
                              u->get_or("iowq_workers_peak", 0)));
  }
  if (points > 0)
    v.push_back(fmt::format("file-read: uring beat the thread pool ({}) at {} of {} points; the "
                            "pool used up to {:.0f} threads.",
                            pool_job_shape(opt.pool_job), uring_ahead, points, pool_threads));
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
        row.get_or("not_visible", 0) > 0)
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
      if (row->skipped)
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
  std::string j = "{\n";
  j += "  \"schema\": \"aiobench/1\",\n";
  j += fmt::format("  \"aiobench_version\": {},\n", json_str(r.host.aiobench_version));
  j += "  \"host\": {";
  j += fmt::format(
      "\"kernel\": {}, \"liburing\": {}, \"cpus\": {}, \"test_dir\": {}, \"test_dir_fs\": {}",
      json_str(r.host.kernel), json_str(r.host.liburing), r.host.cpus, json_str(r.host.test_dir),
      json_str(r.host.test_dir_fs));
  j += "},\n";
  j += "  \"options\": {";
  j += fmt::format(
      "\"storm_rounds\": {}, \"storm_work_us\": {}, \"writer_interval_ms\": {}, "
      "\"latency_rounds\": {}, \"latency_chunks\": {}, \"pin\": {}, \"duration_s\": {}, "
      "\"file_size\": {}, \"iowq_cap\": {}, \"vis_rounds\": {}, \"vis_size\": {}, "
      "\"shutdown_wait_s\": {}, \"pool_cap\": {}, \"pool_keepalive_s\": {}, "
      "\"tp_writes_queued\": {}, \"pool_job\": {}",
      opt.storm_rounds, opt.storm_work_us, opt.writer_interval_ms, opt.latency_rounds,
      opt.latency_chunks, json_str(opt.pin), json_num(opt.duration_s), opt.file_size, opt.iowq_cap,
      opt.vis_rounds, opt.vis_size, json_num(opt.shutdown_wait_s), opt.pool_cap,
      json_num(opt.pool_keepalive_s), opt.tp_writes_queued ? "true" : "false",
      json_str(opt.pool_job));
  j += "},\n";
  j += fmt::format("  \"wall_s\": {},\n", json_num(r.wall_s));
  j += "  \"results\": [";
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const Row& row = r.rows[i];
    j += i == 0 ? "\n" : ",\n";
    j += fmt::format("    {{\"scenario\": {}, \"strategy\": {}, \"variant\": {}, \"skipped\": {}, "
                     "\"failed\": {}, \"note\": {},\n      \"figures\": {{",
                     json_str(row.scenario), json_str(row.strategy), json_str(row.variant),
                     row.skipped ? "true" : "false", row.failed ? "true" : "false",
                     json_str(row.note));
    for (std::size_t k = 0; k < row.figures.size(); ++k)
      j += fmt::format("{}{}: {}", k == 0 ? "" : ", ", json_str(row.figures[k].first),
                       json_num(row.figures[k].second));
    j += "},\n      \"series\": {";
    bool first = true;
    for (const auto& s : row.series) {
      if (s.name == "lat_us") continue;
      j += fmt::format("{}{}: {{\"x\": [", first ? "" : ", ", json_str(s.name));
      first = false;
      for (std::size_t k = 0; k < s.x.size(); ++k)
        j += fmt::format("{}{}", k ? "," : "", json_num(s.x[k]));
      j += "], \"y\": [";
      for (std::size_t k = 0; k < s.y.size(); ++k)
        j += fmt::format("{}{}", k ? "," : "", json_num(s.y[k]));
      j += "]}";
    }
    j += "}}";
  }
  j += "\n  ],\n  \"verdicts\": [";
  for (std::size_t i = 0; i < r.verdicts.size(); ++i)
    j += (i == 0 ? "\n    " : ",\n    ") + json_str(r.verdicts[i]);
  j += "\n  ]\n}\n";
  return j;
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
