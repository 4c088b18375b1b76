// The fan-out's decisions, apart from the I/O so they can be unit-tested:
// which output gets which bytes, what is dropped (whole records), who is
// disconnected.
#include "tee.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>

namespace afifo::tee_latest {

std::size_t chunk_size_for(std::uint64_t buffer) noexcept {
  const std::uint64_t quarter = buffer / 4;
  std::size_t c = 1024;
  while (c * 2 <= quarter && c < (std::size_t{128} << 10))
    c *= 2;
  return c;
}

void OutputQueue::push(const ChunkRef& c, std::size_t off, std::size_t len, std::size_t cap) {
  if (len == 0) return;
  queued += len;
  if (!segs.empty() && segs.back().chunk.get() == c.get()) {
    Segment& b = segs.back();
    if (b.off + b.len == off) {
      b.len += len; // the next bytes of the same read: one write
      return;
    }
    segs.push_back(Segment{c, off, len}); // same chunk, already paid for
    return;
  }
  segs.push_back(Segment{c, off, len});
  charge += cap;
}

void OutputQueue::consumed(std::size_t n, std::size_t cap) {
  Segment& f = segs.front();
  f.off += n;
  f.len -= n;
  queued -= n;
  if (f.len != 0) return;
  const Chunk* c = f.chunk.get();
  segs.pop_front();
  if (segs.empty() || segs.front().chunk.get() != c) charge -= cap;
}

void OutputQueue::clear() noexcept {
  segs.clear();
  queued = 0;
  charge = 0;
  teed_to = 0;
}

bool Fanout::room_for_next() const noexcept {
  for (const OutputQueue* o : outputs)
    if (o->accepting && o->charge + cap_ > limit_) return false;
  return true;
}

bool Fanout::can_tee(const OutputQueue& o) const noexcept {
  // Under drop a held record start (pending_) is owed to an output only if
  // it has it by tee already; block and disconnect hold nothing back.
  // One ahead of the read (block) waits for the read to catch up.
  return o.accepting && o.segs.empty() && !o.skip_to_boundary && o.teed_to <= pos_ &&
         (pending_.empty() || o.teed_to == pos_);
}

void Fanout::wake(OutputQueue& o) { o.ready.set(); }

void Fanout::deliver(OutputQueue& o, const ChunkRef& c, std::size_t from, std::size_t to) {
  const std::uint64_t at = pos_ + from;
  if (o.teed_to > at)
    from += static_cast<std::size_t>(std::min<std::uint64_t>(to - from, o.teed_to - at));
  if (from == to) return;
  o.push(c, from, to - from, cap_);
  wake(o);
}

void Fanout::disconnect(OutputQueue& o) {
  o.accepting = false;
  o.clear();
  // Its write may be waiting in the kernel on a full pipe: cancel it. The
  // writer holds its own reference to the chunk that write reads from.
  if (o.writer != nullptr) o.writer->request_stop();
  o.ready.set();
}

void Fanout::feed(const ChunkRef& c) {
  if (slow_ == Slow::Drop)
    feed_records(c);
  else
    feed_stream(c);
  pos_ += c->len;
}

// block and disconnect: bytes go out as they come (a partial line is not
// held back); only a reconnected output waits for the next record.
void Fanout::feed_stream(const ChunkRef& c) {
  const auto bytes = c->bytes();
  for (OutputQueue* o : outputs) {
    if (!o->accepting) continue;
    std::size_t from = 0;
    if (o->skip_to_boundary && framing_ != Framing::Raw) {
      const std::size_t e = next_record_end(bytes, 0, framing_);
      if (e == kNoEnd) continue;
      from = e;
    }
    o->skip_to_boundary = false;
    if (from == bytes.size()) continue;
    // An output that took the start of this by tee has an empty queue.
    if (slow_ == Slow::Disconnect && !began(*o, pos_ + from) &&
        !o->fits(c.get(), 1, cap_, limit_)) {
      ++o->disconnects;
      fmt::print(stderr, "afifo: {}: reader too slow, disconnected\n", o->name);
      disconnect(*o);
      continue;
    }
    deliver(*o, c, from, bytes.size());
  }
}

// drop: a record is given to an output whole or not at all, so a record is
// only handed out once its end has been read.
void Fanout::feed_records(const ChunkRef& c) {
  const auto bytes = c->bytes();
  std::size_t at = 0;
  if (!pending_.empty()) {
    const std::size_t e = next_record_end(bytes, 0, framing_);
    const std::size_t piece = e == kNoEnd ? bytes.size() : e;
    if (piece > 0) {
      pending_.push_back(Segment{c, 0, piece});
      pending_len_ += piece;
    }
    if (e == kNoEnd) {
      // A record that could hardly fit in a queue is cut here (pieces of
      // half --buffer) rather than held without bound.
      if (pending_.size() * cap_ * 2 >= limit_) {
        if (!warned_long_record) {
          fmt::print(stderr, "afifo: a record longer than --buffer is cut into pieces\n");
          warned_long_record = true;
        }
        give_pending();
      }
      return;
    }
    give_pending();
    at = e;
  }
  const std::size_t last = last_record_end(bytes.subspan(at), framing_);
  if (last != kNoEnd) {
    give_batch(c, at, at + last);
    at += last;
  }
  if (at < bytes.size()) {
    pending_pos_ = pos_ + at;
    pending_.push_back(Segment{c, at, bytes.size() - at});
    pending_len_ += bytes.size() - at;
  }
}

void Fanout::give_pending() {
  if (pending_.empty()) return;
  for (OutputQueue* o : outputs) {
    if (!o->accepting) continue;
    o->skip_to_boundary = false; // a whole record is a boundary
    // A record it has begun by tee is finished whatever its queue holds
    // (no more than a record: tee only ever goes to an empty queue).
    if (began(*o, pending_pos_) ||
        o->fits(pending_.front().chunk.get(), pending_.size(), cap_, limit_)) {
      std::uint64_t at = pending_pos_;
      for (const Segment& s : pending_) {
        const std::size_t skip =
            o->teed_to > at
                ? static_cast<std::size_t>(std::min<std::uint64_t>(s.len, o->teed_to - at))
                : 0;
        o->push(s.chunk, s.off + skip, s.len - skip, cap_);
        at += s.len;
      }
      wake(*o);
    } else {
      ++o->dropped_records;
      o->dropped_bytes += pending_len_;
    }
  }
  pending_.clear();
  pending_len_ = 0;
}

void Fanout::give_batch(const ChunkRef& c, std::size_t from, std::size_t to) {
  std::size_t records = kNoEnd; // counted only if someone drops them
  for (OutputQueue* o : outputs) {
    if (!o->accepting) continue;
    o->skip_to_boundary = false;
    if (began(*o, pos_ + from) || o->fits(c.get(), 1, cap_, limit_)) {
      deliver(*o, c, from, to);
      continue;
    }
    if (records == kNoEnd)
      records = count_record_ends(c->bytes().subspan(from, to - from), framing_);
    o->dropped_records += records;
    o->dropped_bytes += to - from;
  }
}

void Fanout::end_of_input() {
  give_pending();
  for (OutputQueue* o : outputs)
    wake(*o);
}

} // namespace afifo::tee_latest
