// afifo tee's logic without I/O: the record splitter, SIZE, and the
// fan-out's decisions (whole records under drop, counted; the memory a
// queue may pin; block's room; disconnect).
#include "tee.hpp"
#include "tee_framing.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace afifo::tee_latest;

namespace {
std::span<const std::byte> b(const std::string& s) { return std::as_bytes(std::span(s)); }

ChunkRef chunk_of(ChunkPool& pool, const std::string& s) {
  ChunkRef c = pool.get();
  REQUIRE(s.size() <= pool.capacity());
  std::memcpy(c->data.get(), s.data(), s.size());
  c->len = s.size();
  return c;
}

std::string queued(const OutputQueue& q) {
  std::string s;
  for (const Segment& seg : q.segs)
    s.append(reinterpret_cast<const char*>(seg.bytes().data()), seg.len);
  return s;
}

// Writes everything queued, as the writer task does.
std::string drain(OutputQueue& q, std::size_t cap) {
  std::string s;
  while (!q.segs.empty()) {
    s.append(reinterpret_cast<const char*>(q.segs.front().bytes().data()), q.segs.front().len);
    q.consumed(q.segs.front().len, cap);
  }
  return s;
}
} // namespace

TEST_CASE("records end at the delimiter of the framing; raw reads are records") {
  CHECK(next_record_end(b("ab\ncd\n"), 0, Framing::Line) == 3);
  CHECK(next_record_end(b("ab\ncd\n"), 3, Framing::Line) == 6);
  CHECK(next_record_end(b("ab\ncd"), 3, Framing::Line) == kNoEnd);
  CHECK(last_record_end(b("ab\ncd\nef"), Framing::Line) == 6);
  CHECK(last_record_end(b("abc"), Framing::Line) == kNoEnd);
  CHECK(next_record_end(b(std::string("a\0b", 3)), 0, Framing::Null) == 2);
  CHECK(next_record_end(b("a\nb"), 0, Framing::Null) == kNoEnd);
  CHECK(next_record_end(b("a\nb"), 0, Framing::Raw) == 3);
  CHECK(count_record_ends(b("a\nb\nc"), Framing::Line) == 2);
  CHECK(parse_framing("null") == Framing::Null);
  CHECK_FALSE(parse_framing("lines"));
}

TEST_CASE("records are counted exactly in any length, long runs and tails included") {
  std::string s;
  std::size_t want = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool nl = (i * 7919) % 13 < 4;
    s += nl ? '\n' : static_cast<char>('a' + i % 26);
    want += nl ? 1 : 0;
  }
  for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16},
                          std::size_t{17}, std::size_t{4080}, std::size_t{4081}, s.size()}) {
    const std::string part = s.substr(0, len);
    CHECK(count_record_ends(b(part), Framing::Line) ==
          static_cast<std::size_t>(std::count(part.begin(), part.end(), '\n')));
  }
  CHECK(count_record_ends(b(s), Framing::Line) == want);
  CHECK(count_record_ends(b(std::string(9000, '\n')), Framing::Line) == 9000);
  CHECK(count_record_ends(b(std::string(9000, '\0')), Framing::Null) == 9000);
}

TEST_CASE("the read size is a quarter of --buffer, between 1 KiB and 128 KiB") {
  CHECK(chunk_size_for(4096) == 1024);
  CHECK(chunk_size_for(64 << 10) == 16 << 10);
  CHECK(chunk_size_for(1 << 20) == 128 << 10);
  CHECK(chunk_size_for(std::uint64_t{1} << 30) == 128 << 10);
}

TEST_CASE("under drop a record that does not fit is dropped whole and counted") {
  TeeOptions o;
  o.on_slow = Slow::Drop;
  o.buffer = 8192; // eight chunks of 1 KiB
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue fast, slow;
  fast.accepting = slow.accepting = true;
  fan.outputs = {&fast, &slow};
  // Records of many lengths, read in pieces that cut them anywhere.
  std::vector<std::string> recs;
  std::string stream;
  for (int i = 0; i < 60; ++i) {
    recs.push_back(std::to_string(i) + ":" + std::string(i * 7919 % 1500, 'x') + "\n");
    stream += recs.back();
  }
  std::string all;
  for (std::size_t at = 0; at < stream.size(); at += 1000) {
    fan.feed(chunk_of(pool, stream.substr(at, 1000)));
    all += drain(fast, 1024); // the fast reader keeps up; the slow one never reads
    CHECK(slow.charge <= o.buffer);
  }
  fan.end_of_input();
  all += drain(fast, 1024);
  CHECK(all.size() == stream.size());
  CHECK(all == stream);
  CHECK(fast.dropped_records == 0);
  // The slow output kept whole records, in order; the rest were counted.
  const std::string kept = queued(slow);
  std::size_t at = 0, kept_n = 0, kept_bytes = 0;
  int last = -1;
  while (at < kept.size()) {
    const std::size_t nl = kept.find('\n', at);
    REQUIRE(nl != std::string::npos);
    const std::string rec = kept.substr(at, nl + 1 - at);
    const int i = std::stoi(rec);
    CHECK(i > last);
    CHECK(rec == recs[static_cast<std::size_t>(i)]);
    last = i;
    ++kept_n;
    kept_bytes += rec.size();
    at = nl + 1;
  }
  CHECK(kept_n > 0);
  CHECK(slow.dropped_records > 0);
  CHECK(kept_n + slow.dropped_records == recs.size());
  CHECK(kept_bytes + slow.dropped_bytes == stream.size());
}

TEST_CASE("under drop a partial record is held until its end, then given whole") {
  TeeOptions o;
  o.on_slow = Slow::Drop;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue q;
  q.accepting = true;
  fan.outputs = {&q};
  fan.feed(chunk_of(pool, "one\ntw"));
  CHECK(queued(q) == "one\n");
  fan.feed(chunk_of(pool, "o"));
  CHECK(queued(q) == "one\n");
  fan.feed(chunk_of(pool, "\nthr"));
  CHECK(queued(q) == "one\ntwo\n");
  fan.end_of_input(); // a last record without its newline still goes out
  CHECK(queued(q) == "one\ntwo\nthr");
}

TEST_CASE("a record longer than --buffer is cut into pieces rather than held without bound") {
  TeeOptions o;
  o.on_slow = Slow::Drop;
  o.buffer = 4096;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue q;
  q.accepting = true;
  fan.outputs = {&q};
  std::string got;
  for (int i = 0; i < 20; ++i) {
    fan.feed(chunk_of(pool, std::string(1024, 'x')));
    got += drain(q, 1024);
    CHECK(pool.live() <= 6); // pending at most --buffer, plus this read
  }
  CHECK(fan.warned_long_record);
  fan.feed(chunk_of(pool, "\n"));
  fan.end_of_input();
  got += drain(q, 1024);
  CHECK(got.size() == 20 * 1024 + 1); // a reader that keeps up loses nothing
  CHECK(got == std::string(20 * 1024, 'x') + "\n");
}

TEST_CASE("a queue's charge counts whole chunks, so what it pins stays under --buffer") {
  TeeOptions o;
  o.on_slow = Slow::Drop;
  o.buffer = 4096;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue q;
  q.accepting = true;
  fan.outputs = {&q};
  // One short line per read: each read costs a whole chunk.
  for (int i = 0; i < 100; ++i)
    fan.feed(chunk_of(pool, "x\n"));
  CHECK(q.queued == 4 * 2);
  CHECK(q.charge == 4096);
  CHECK(q.dropped_records == 96);
  CHECK(pool.live() == 4);
  drain(q, 1024);
  CHECK(q.charge == 0);
  CHECK(pool.live() == 0);
}

TEST_CASE("under block the input waits while any open output is full; nothing is dropped") {
  TeeOptions o;
  o.on_slow = Slow::Block;
  o.buffer = 4096;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue a, b2;
  a.accepting = b2.accepting = true;
  fan.outputs = {&a, &b2};
  int reads = 0;
  while (fan.room_for_next()) {
    fan.feed(chunk_of(pool, "partial line without end "));
    ++reads;
    drain(a, 1024);
  }
  CHECK(reads == 4);
  CHECK(b2.charge == 4096);
  CHECK(queued(b2).size() == 4 * 25); // block passes partial lines at once
  b2.accepting = false;               // gone: no one to wait for
  CHECK(fan.room_for_next());
}

TEST_CASE("under disconnect a full output is closed and the others go on") {
  TeeOptions o;
  o.on_slow = Slow::Disconnect;
  o.buffer = 4096;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue fast, slow;
  fast.name = "fast";
  slow.name = "slow";
  fast.accepting = slow.accepting = true;
  fan.outputs = {&fast, &slow};
  std::string got;
  for (int i = 0; i < 10; ++i) {
    fan.feed(chunk_of(pool, "line " + std::to_string(i) + "\n"));
    got += drain(fast, 1024);
  }
  CHECK_FALSE(slow.accepting);
  CHECK(slow.disconnects == 1);
  CHECK(slow.segs.empty());
  CHECK(got.find("line 9\n") != std::string::npos);
}

TEST_CASE("a reconnected output starts at the next record") {
  TeeOptions o;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue q;
  q.accepting = true;
  q.skip_to_boundary = true;
  fan.outputs = {&q};
  fan.feed(chunk_of(pool, "end of an old one"));
  CHECK(q.segs.empty());
  fan.feed(chunk_of(pool, "...\nnew\npart"));
  CHECK(queued(q) == "new\npart");
}

namespace {
// The zero-copy path as Tee::read_input drives it, with the kernel played
// here: each round some outputs take a prefix of the input's waiting bytes
// by "tee" (appended to what their reader sees at once), the read takes
// what the round decides, the fan-out queues the rest, and readers drain
// their queues now and then. What each reader ends up with is checked.
struct TeeSim {
  TeeOptions opts;
  ChunkPool pool{1024};
  Fanout fan;
  std::vector<OutputQueue> qs;
  std::vector<std::string> seen; // each reader's bytes, in order
  unsigned seed = 12345;

  TeeSim(Slow slow, std::size_t outputs) : opts(options(slow)), fan(opts, 1024), qs(outputs) {
    seen.resize(outputs);
    for (auto& q : qs) {
      q.accepting = true;
      fan.outputs.push_back(&q);
    }
  }
  static TeeOptions options(Slow slow) {
    TeeOptions o;
    o.on_slow = slow;
    o.buffer = 64 << 10; // records are never cut into pieces here
    return o;
  }
  unsigned rnd(unsigned n) {
    seed = seed * 1103515245 + 12345;
    return (seed >> 16) % n;
  }
  // `drains[i]`: how often reader i reads its queue (1 in N rounds; 0 never).
  void run(const std::string& stream, const std::vector<unsigned>& drains) {
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t avail = std::min<std::size_t>(stream.size() - pos, 1 + rnd(1024));
      std::size_t least = static_cast<std::size_t>(-1), most = 0;
      for (std::size_t i = 0; i < qs.size(); ++i) {
        OutputQueue& q = qs[i];
        if (q.teed_to > pos && q.segs.empty()) {
          least = std::min<std::size_t>(least, q.teed_to - pos);
          most = std::max<std::size_t>(most, q.teed_to - pos);
          continue;
        }
        if (!fan.can_tee(q)) continue;
        // Its pipe takes all, part or none of what waits (under block a
        // full one is waited for: it takes some).
        std::size_t n = rnd(3) == 0 ? rnd(static_cast<unsigned>(avail) + 1) : avail;
        if (opts.on_slow == Slow::Block && n == 0) n = 1;
        if (n == 0) {
          least = 0;
          continue;
        }
        seen[i] += stream.substr(pos, n);
        fan.teed(q, n);
        least = std::min(least, n);
        most = std::max(most, n);
      }
      std::size_t len =
          opts.on_slow == Slow::Block && least != static_cast<std::size_t>(-1) ? least : most;
      if (len == 0) len = avail;
      REQUIRE(fan.pos() == pos);
      fan.feed(chunk_of(pool, stream.substr(pos, len)));
      pos += len;
      for (std::size_t i = 0; i < qs.size(); ++i)
        if (drains[i] != 0 && rnd(drains[i]) == 0) seen[i] += drain(qs[i], 1024);
    }
    fan.end_of_input();
    for (std::size_t i = 0; i < qs.size(); ++i)
      seen[i] += drain(qs[i], 1024);
    REQUIRE_FALSE(fan.warned_long_record);
  }
};

std::string numbered_records(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s +=
        std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i * 7919 % 700), 'x') + "\n";
  return s;
}
} // namespace

TEST_CASE("under block, bytes given by tee and bytes queued make the same stream at every output") {
  const std::string stream = numbered_records(1000);
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
    TeeSim sim(Slow::Block, 3);
    sim.seed = seed;
    sim.run(stream, {1, 2, 5});
    for (const std::string& s : sim.seen)
      CHECK(s == stream);
  }
}

TEST_CASE("under drop a record begun by tee is finished, and what is dropped is whole records") {
  const std::string stream = numbered_records(1000);
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
    TeeSim sim(Slow::Drop, 3);
    sim.seed = seed;
    // Reader 0 keeps up; 1 reads now and then; 2 never (its pipe still
    // takes parts of records by tee now and then).
    sim.run(stream, {1, 6, 0});
    CHECK(sim.seen[0] == stream);
    CHECK(sim.qs[0].dropped_records == 0);
    std::size_t total_dropped = 0;
    for (std::size_t i = 0; i < sim.qs.size(); ++i) {
      const std::string& s = sim.seen[i];
      std::size_t at = 0, n = 0;
      int last = -1;
      while (at < s.size()) {
        const std::size_t nl = s.find('\n', at);
        REQUIRE(nl != std::string::npos);
        const int k = std::stoi(s.substr(at));
        CHECK(k > last);
        CHECK(s.substr(at, nl + 1 - at) ==
              std::to_string(k) + ":" + std::string(static_cast<std::size_t>(k * 7919 % 700), 'x') +
                  "\n");
        last = k;
        ++n;
        at = nl + 1;
      }
      CHECK(n + sim.qs[i].dropped_records == 1000);
      CHECK(s.size() + sim.qs[i].dropped_bytes == stream.size());
      total_dropped += sim.qs[i].dropped_records;
    }
    CHECK(total_dropped > 0);
  }
}

TEST_CASE("an output lacking a held record start is not given the input's next bytes by tee") {
  TeeOptions o;
  o.on_slow = Slow::Drop;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue a, b2;
  a.accepting = b2.accepting = true;
  fan.outputs = {&a, &b2};
  CHECK(fan.can_tee(a));
  fan.teed(a, 6); // a has "one\ntw" in its pipe; b2 gets it by the queue
  fan.feed(chunk_of(pool, "one\ntw"));
  CHECK(a.segs.empty());
  CHECK(queued(b2) == "one\n");
  drain(b2, 1024);
  CHECK(fan.can_tee(a));        // it has the held "tw"
  CHECK_FALSE(fan.can_tee(b2)); // it does not: "o\n" by tee would come first
  fan.feed(chunk_of(pool, "o\n"));
  CHECK(queued(a) == "o\n");
  CHECK(queued(b2) == "two\n");
}

TEST_CASE("under block an output ahead of the read skips what it has and waits to tee again") {
  TeeOptions o;
  ChunkPool pool(1024);
  Fanout fan(o, 1024);
  OutputQueue a, b2;
  a.accepting = b2.accepting = true;
  fan.outputs = {&a, &b2};
  fan.teed(a, 8);
  fan.teed(b2, 3);
  fan.feed(chunk_of(pool, "abc")); // the read takes the least
  CHECK(a.segs.empty());
  CHECK(b2.segs.empty());
  CHECK_FALSE(fan.can_tee(a)); // 5 bytes ahead
  CHECK(fan.can_tee(b2));
  fan.teed(b2, 5);
  fan.feed(chunk_of(pool, "defgh"));
  CHECK(fan.can_tee(a));
  CHECK(a.segs.empty());
  CHECK(b2.segs.empty());
}
