#include "tail.hpp"

#include "aio/ops.hpp"
#include "aio/scope.hpp"
#include "file_size.hpp"
#include "quote.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace acat {
namespace {

constexpr std::size_t kBackBlock = std::size_t{64} * 1024;

std::uint64_t count_delims(std::span<const std::byte> d, char delim) {
  return static_cast<std::uint64_t>(std::count(d.begin(), d.end(), static_cast<std::byte>(delim)));
}

} // namespace

std::optional<std::uint64_t> BackScanner::feed(std::span<const std::byte> block,
                                               std::uint64_t base) {
  if (n_ == 0) return size_;
  for (std::size_t i = block.size(); i > 0; --i) {
    if (block[i - 1] != delim_) continue;
    std::uint64_t at = base + i - 1;
    if (at + 1 == size_) continue; // the final newline ends a line, starts none
    if (++seen_ == n_) return at + 1;
  }
  if (base == 0) return 0; // fewer lines than asked: all of it
  return std::nullopt;
}

std::span<const std::byte> Skipper::feed(std::span<const std::byte> data) {
  if (left_ == 0) return data;
  if (!lines_) {
    std::size_t drop = static_cast<std::size_t>(std::min<std::uint64_t>(left_, data.size()));
    left_ -= drop;
    return data.subspan(drop);
  }
  std::size_t i = 0;
  while (left_ > 0) {
    const void* nl = std::memchr(data.data() + i, delim_, data.size() - i);
    if (nl == nullptr) return {};
    i = static_cast<std::size_t>(static_cast<const std::byte*>(nl) - data.data()) + 1;
    --left_;
  }
  return data.subspan(i);
}

void Keeper::feed(std::span<const std::byte> data) {
  if (n_ == 0) return;
  while (!data.empty()) {
    if (chunks_.empty() || chunks_.back().size == chunk_) {
      chunks_.push_back({std::make_unique_for_overwrite<std::byte[]>(chunk_), 0, 0});
      // A new chunk is where old ones may have become useless.
      trim();
    }
    Chunk& c = chunks_.back();
    std::size_t take = std::min(chunk_ - c.size, data.size());
    std::memcpy(c.bytes.get() + c.size, data.data(), take);
    std::uint64_t nl = lines_ ? count_delims(data.first(take), delim_) : 0;
    c.size += take;
    c.newlines += nl;
    newlines_ += nl;
    held_ += take;
    data = data.subspan(take);
  }
  trim();
}

// Drops whole chunks the answer cannot reach: for lines, the rest still
// holds more than N newlines, so the last N lines start inside it; for
// bytes, the rest holds N bytes.
void Keeper::trim() {
  while (chunks_.size() > 1) {
    const Chunk& f = chunks_.front();
    bool drop = lines_ ? newlines_ - f.newlines > n_ : held_ - f.size >= n_;
    if (!drop) break;
    newlines_ -= f.newlines;
    held_ -= f.size;
    chunks_.pop_front();
  }
}

std::vector<std::span<const std::byte>> Keeper::last() const {
  std::vector<std::span<const std::byte>> out;
  if (n_ == 0 || held_ == 0) return out;
  // Offset of the answer's first byte among the bytes held.
  std::uint64_t start = 0;
  if (!lines_) {
    start = held_ > n_ ? held_ - n_ : 0;
  } else {
    BackScanner scan(n_, held_, delim_);
    std::uint64_t end = held_;
    for (auto it = chunks_.rbegin(); it != chunks_.rend(); ++it) {
      std::uint64_t base = end - it->size;
      if (auto s = scan.feed(std::span<const std::byte>(it->bytes.get(), it->size), base)) {
        start = *s;
        break;
      }
      end = base;
    }
  }
  std::uint64_t base = 0;
  for (const auto& c : chunks_) {
    std::uint64_t end = base + c.size;
    if (end > start) {
      std::size_t from = start > base ? static_cast<std::size_t>(start - base) : 0;
      out.emplace_back(c.bytes.get() + from, c.size - from);
    }
    base = end;
  }
  return out;
}

std::string Keeper::take() const {
  std::string all;
  for (auto s : last())
    all.append(reinterpret_cast<const char*>(s.data()), s.size());
  return all;
}

namespace {

// Reads `in` to its end through `buf`, handing each chunk to `take`, which
// returns the bytes to write now (empty: none). A read error is reported and
// ends the input, as cat and tail go on with the next one; a stop or a failed
// write ends the pass.
template <class Take> aio::Task<aio::Result<void>>
read_to_end(Context& ctx, Input& in, std::span<std::byte> buf, Take take) {
  for (;;) {
    auto r = co_await read_some(in, buf);
    if (!r) {
      if (r.cancelled()) co_return r.error();
      ctx.report_read(in, r.error());
      in.done = true;
      break;
    }
    if (*r == 0) break;
    std::span<const std::byte> out = take(buf.first(*r));
    if (out.empty()) continue;
    if (auto w = co_await ctx.out.emit(in.src, out); !w) co_return w;
  }
  co_return aio::Result<void>{};
}

// cat's display options: every chunk goes out as cat shows it.
aio::Task<aio::Result<void>> copy_displayed(Context& ctx, Input& in) {
  std::string shown;
  co_return co_await read_to_end(ctx, in, ctx.bulk(0), [&](std::span<const std::byte> d) {
    shown.clear();
    ctx.display->feed(d, shown);
    return as_bytes(std::span(shown));
  });
}

} // namespace

aio::Task<aio::Result<void>> copy_to_end(Context& ctx, Input& in, std::optional<Skipper>* skip) {
  if (ctx.display != nullptr) co_return co_await copy_displayed(ctx, in);
  if (in.kind == Kind::Regular && (skip == nullptr || !*skip) && ctx.out.copies_for(in.src)) {
    // File to file: the kernel copies page to page, as cat does, one copy
    // where a read and a write make two (a 2 GiB copy written over a cached
    // file took about 10% longer that way). An error or a file that says 0
    // early (those in /proc) leaves the rest to the loop below, which then
    // tells which side failed.
    for (;;) {
      auto n = ctx.out.copy_from(in.fd.get(), in.pos, in.end);
      if (!n || *n == 0) break;
      // The copy is no operation of the ring: a turn of the loop between
      // chunks lets a signal or a stop end it.
      (void)co_await aio::nop();
      if ((co_await aio::stop_token()).stop_requested()) co_return aio::errno_code(ECANCELED);
    }
  }
  // To a pipe, two buffers: one is written (and waits for the reader) while
  // the next is read. Elsewhere a write ends at once: nothing to overlap,
  // and one buffer keeps less of the CPU cache busy.
  bool overlap = ctx.out.waits_for_reader();
  std::span<std::byte> cur = ctx.bulk(0), next = overlap ? ctx.bulk(1) : cur;
  auto r = co_await read_some(in, cur);
  while (r && *r > 0) {
    std::span<const std::byte> data = cur.first(*r);
    if (skip != nullptr && *skip) data = (*skip)->feed(data);
    aio::Result<void> w;
    aio::Result<std::size_t> nr = std::size_t{0};
    if (overlap) {
      aio::Scope both(co_await aio::stop_token());
      both.spawn([](Output& o, Source& s, std::span<const std::byte> d,
                    aio::Result<void>& out) -> aio::Task<void> {
        out = co_await o.emit(s, d);
      }(ctx.out, in.src, data, w));
      nr = co_await read_some(in, next);
      co_await both.join();
    } else {
      w = co_await ctx.out.emit(in.src, data);
      if (w) nr = co_await read_some(in, next);
    }
    if (!w) co_return w;
    r = nr;
    std::swap(cur, next);
  }
  if (!r) {
    if (r.cancelled()) co_return r.error();
    ctx.report_read(in, r.error());
    in.done = true;
  }
  co_return aio::Result<void>{};
}

namespace {

// The last N lines or bytes of a regular file: where they start.
aio::Task<aio::Result<std::uint64_t>> tail_start(Input& in, const Count& c, Mode mode,
                                                 std::uint64_t size, char delim) {
  if (mode == Mode::Bytes) {
    const std::uint64_t start = size > c.n ? size - c.n : 0;
    co_return start;
  }
  BackScanner scan(c.n, size, delim);
  if (c.n == 0) co_return size;
  auto buf = make_buffer(kBackBlock);
  std::uint64_t end = size;
  while (end > in.pos) {
    std::uint64_t base = end > kBackBlock ? end - kBackBlock : 0;
    base = std::max(base, in.pos);
    std::size_t len = static_cast<std::size_t>(end - base);
    std::size_t got = 0;
    while (got < len) {
      auto r = co_await aio::read(in.fd.get(), std::span(buf.get() + got, len - got), base + got);
      if (!r) co_return r.error();
      if (*r == 0) break; // shrank under us: scan what we have
      got += *r;
    }
    if (auto s = scan.feed(std::span(buf.get(), got), base)) co_return *s;
    if (base == in.pos) break;
    end = base;
  }
  co_return in.pos;
}

aio::Task<aio::Result<void>> keep_last(Context& ctx, Input& in) {
  Keeper keep(ctx.opts.mode, ctx.opts.count.n, Keeper::kChunk, ctx.opts.delim);
  auto buf = make_buffer(kBackBlock);
  auto r = co_await read_to_end(ctx, in, std::span(buf.get(), kBackBlock),
                                [&](std::span<const std::byte> d) {
                                  keep.feed(d);
                                  return std::span<const std::byte>{};
                                });
  if (!r) co_return r;
  for (auto part : keep.last())
    if (auto w = co_await ctx.out.emit(in.src, part); !w) co_return w;
  co_return aio::Result<void>{};
}

// `in.end` is the size seen at the start when it can be trusted (else
// kNoEnd: a stream, or a file in /proc or /sys).
aio::Task<aio::Result<void>> tail_pass(Context& ctx, Input& in) {
  const Options& o = ctx.opts;
  const bool sized = in.end != Input::kNoEnd;
  if (o.count.from_start) {
    if (in.kind == Kind::Regular && o.mode == Mode::Bytes) {
      // Seek, do not read: +N of a regular file starts at byte N.
      std::uint64_t skip = o.count.n > 0 ? o.count.n - 1 : 0;
      if (sized) skip = std::min(skip, in.end);
      in.pos += skip;
      co_return co_await copy_to_end(ctx, in);
    }
    std::optional<Skipper> skip(std::in_place, o.mode, o.count.n, o.delim);
    co_return co_await copy_to_end(ctx, in, &skip);
  }
  if (sized && in.end > in.pos) {
    auto start = co_await tail_start(in, o.count, o.mode, in.end, o.delim);
    if (!start) {
      if (start.cancelled()) co_return start.error();
      ctx.report_read(in, start.error());
      in.done = true;
      co_return aio::Result<void>{};
    }
    in.pos = std::max(in.pos, *start);
    co_return co_await copy_to_end(ctx, in);
  }
  co_return co_await keep_last(ctx, in);
}

} // namespace

aio::Task<aio::Result<void>> first_pass(Context& ctx, Input& in) {
  if (ctx.opts.mode == Mode::Cat) co_return co_await copy_to_end(ctx, in);
  if (in.kind == Kind::Regular) {
    auto st = stat_fd(in.fd.get());
    if (!st) {
      ctx.report("cannot fstat " + tools::quote(in.src.name), st.error());
      in.done = true;
      co_return aio::Result<void>{};
    }
    if (tools::size_is_trusted(in.fd.get(), static_cast<std::uint64_t>(st->st_size)))
      in.end = static_cast<std::uint64_t>(st->st_size);
  }
  auto r = co_await tail_pass(ctx, in);
  in.end = Input::kNoEnd; // following goes on from there
  co_return r;
}

} // namespace acat
