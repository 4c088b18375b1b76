// afifo tee: one input fanned out to many outputs on one thread, each
// output with its own bounded queue and a policy for a slow reader.
#pragma once

#include "aio/scope.hpp"
#include "aio/sync.hpp"
#include "aio/task.hpp"
#include "tee_chunks.hpp"
#include "tee_framing.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

// Everything of tee and latest but their setup_X lives in afifo::tee_latest,
// apart from mux's names (its framer, inputs, outputs) until the lead
// unifies them: no clash of classes or functions when both are linked.

namespace afifo::tee_latest {

// What to do with an output whose queue is full.
enum class Slow {
  Block,      // wait for it: every output waits (nothing lost)
  Drop,       // drop whole records for it; the others go on
  Disconnect, // close it (its reader sees EOF); the others go on
};

struct TeeOptions {
  std::string input = "-";
  std::vector<std::string> outputs;
  Slow on_slow = Slow::Block;
  std::uint64_t buffer = std::uint64_t{1} << 20; // per output
  Framing framing = Framing::Line;
  bool reconnect = false;
};

// The read size for a --buffer: a quarter of it (so a queue holds a few
// reads), between 1 KiB and 128 KiB.
std::size_t chunk_size_for(std::uint64_t buffer) noexcept;

// Bytes of one chunk, in an output's queue.
struct Segment {
  ChunkRef chunk;
  std::size_t off = 0;
  std::size_t len = 0;
  std::span<const std::byte> bytes() const noexcept { return chunk->bytes().subspan(off, len); }
};

// One output as the fan-out sees it: its queue, what its memory costs and
// what it lost. Memory is counted in whole chunks (a queued line keeps its
// whole chunk alive), so `charge` is the memory it really pins.
struct OutputQueue {
  std::string name;
  bool accepting = false;        // open and taking data (not while (re)connecting, not gone)
  bool skip_to_boundary = false; // reconnected: its data starts at the next record
  std::deque<Segment> segs;
  std::size_t queued = 0; // bytes in segs
  std::size_t charge = 0; // bytes of the chunks segs hold
  std::uint64_t dropped_records = 0;
  std::uint64_t dropped_bytes = 0;
  std::uint64_t disconnects = 0;
  // Zero-copy fan-out (tee(2) from the input pipe): the stream offset up
  // to which this output already has the input's bytes in its pipe; the
  // fan-out queues only what lies beyond it, and never drops a record it
  // already began.
  std::uint64_t teed_to = 0;
  aio::Event ready;             // set when segs gets data or the input ends
  aio::Scope* writer = nullptr; // the running writer, stopped on disconnect

  // Whether `chunks` more chunks, the first being `first`, fit in `limit`.
  bool fits(const Chunk* first, std::size_t chunks, std::size_t cap,
            std::uint64_t limit) const noexcept {
    if (chunks > 0 && !segs.empty() && segs.back().chunk.get() == first) --chunks;
    return charge + chunks * cap <= limit;
  }
  void push(const ChunkRef& c, std::size_t off, std::size_t len, std::size_t cap);
  // `n` bytes of the front segment were written.
  void consumed(std::size_t n, std::size_t cap);
  void clear() noexcept;
};

// Hands what is read to the outputs under the chosen policy.
class Fanout {
public:
  Fanout(const TeeOptions& o, std::size_t chunk_cap)
      : slow_(o.on_slow), framing_(o.framing), limit_(o.buffer), cap_(chunk_cap) {}

  // Every output that is open and taking data has room for one more chunk
  // (block: the input waits for this before the next read).
  bool room_for_next() const noexcept;
  // Whether `o` may be given the input's next bytes by tee(2), before
  // they are read: its queue is empty (nothing of it would be overtaken)
  // and it is owed every byte from the read position on (not waiting for a
  // record's start, not owed a held record start it lacks).
  bool can_tee(const OutputQueue& o) const noexcept;
  // The stream offset of the next byte to read from the input.
  std::uint64_t pos() const noexcept { return pos_; }
  // `o` was given the next `n` bytes of the input by tee(2).
  void teed(OutputQueue& o, std::size_t n) noexcept { o.teed_to = pos_ + n; }
  // A chunk just read; its bytes are [0, len).
  void feed(const ChunkRef& c);
  // The input ended: a last record without its delimiter goes out too.
  void end_of_input();
  // An output went away or was disconnected: forget what it held.
  void disconnect(OutputQueue& o);

  std::vector<OutputQueue*> outputs;
  // Set when a queue went below its limit (for the input under block).
  aio::Event room;
  bool warned_long_record = false;

private:
  void feed_stream(const ChunkRef& c);
  void feed_records(const ChunkRef& c);
  void give_pending();
  void give_batch(const ChunkRef& c, std::size_t from, std::size_t to);
  // Queues [from, to) of the chunk being fed, less what `o` has by tee.
  void deliver(OutputQueue& o, const ChunkRef& c, std::size_t from, std::size_t to);
  // Whether `o` has by tee some of the stream from offset `at` on.
  bool began(const OutputQueue& o, std::uint64_t at) const noexcept { return o.teed_to > at; }
  void wake(OutputQueue& o);

  Slow slow_;
  Framing framing_;
  std::uint64_t limit_;
  std::size_t cap_;
  // Under drop: the start of a record not ended yet, piece by piece.
  std::vector<Segment> pending_;
  std::size_t pending_len_ = 0;
  std::uint64_t pending_pos_ = 0; // the stream offset of pending_'s start
  std::uint64_t pos_ = 0;         // the stream offset of the chunk being fed
};

aio::Task<int> run_tee(const TeeOptions& opts);

} // namespace afifo::tee_latest
