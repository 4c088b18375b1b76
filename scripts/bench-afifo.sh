#!/usr/bin/env bash
# Benchmarks afifo mux on this machine with real processes:
#   1. throughput: mux of 8 writer processes (cat of a file of lines, SIZE_MB
#      each) into /dev/null, against cat reading one FIFO fed by one writer
#      with the same total bytes; readers pinned to CPU 1, writers to CPU 0,
#      the two variants alternating, ROUNDS rounds, medians and min-max;
#   2. latency: LAT_RATE lines/s in all over 8 FIFOs (each line carries its
#      CLOCK_MONOTONIC send time), read back from mux's stdout: p50, p99, max
#      of write-to-output; cat, and mux, on one FIFO at the same rate beside it;
#   3. the hand-made alternative, `cat f0 & cat f1 & ... ` into one pipe, and
#      mux, on 8 writers x MIX_LINES lines of 1 B..64 KiB: lines that came out
#      broken (interleaved or cut) and lines lost, counted by checksum.
# Usage: scripts/bench-afifo.sh [path/to/afifo]
# Environment: BENCH_DIR (default /var/tmp/afifo-bench), SIZE_MB (100), ROUNDS (5),
#              LAT_RATE (10000), LAT_SECONDS (3), MIX_LINES (2000),
#              PARTS ("throughput latency handmade").
set -euo pipefail

AFIFO=$(readlink -f "${1:-$(dirname "$0")/../build/tools/afifo/afifo}")
DIR=${BENCH_DIR:-/var/tmp/afifo-bench}
SIZE_MB=${SIZE_MB:-100}
ROUNDS=${ROUNDS:-5}
LAT_RATE=${LAT_RATE:-10000}
LAT_SECONDS=${LAT_SECONDS:-3}
MIX_LINES=${MIX_LINES:-2000}
PARTS=${PARTS:-throughput latency handmade}
mkdir -p "$DIR"
want() { [[ " $PARTS " == *" $1 "* ]]; }
now() { date +%s%N; }
stats() { # median and min-max of numbers on stdin
  sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f (%.0f-%.0f)", m, a[1], a[NR]}'
}
fresh_fifos() { # N: makes $DIR/f0..f(N-1) anew
  rm -f "$DIR"/f*
  for ((k = 0; k < $1; k++)); do mkfifo "$DIR/f$k"; done
}

echo "afifo: $AFIFO"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) (shared: other builds may run)"

if want throughput; then
  LINES=$DIR/lines.$SIZE_MB
  if [[ ! -f $LINES ]]; then
    # Lines of 1..200 bytes (a log's shape), SIZE_MB MB.
    python3 - "$LINES" "$SIZE_MB" <<'EOF'
import random, sys
path, mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
table = bytes(97 + i % 26 for i in range(256))
with open(path, "wb") as f:
    left = mb * 1000 * 1000
    while left > 0:
        chunk = bytearray()
        while len(chunk) < 1 << 20 and left - len(chunk) > 0:
            n = rng.randrange(1, 200)
            chunk += rng.randbytes(n).translate(table) + b"\n"
        f.write(chunk)
        left -= len(chunk)
EOF
  fi
  cat "$LINES" >/dev/null
  BYTES=$(stat -c %s "$LINES")
  run_mux() {
    fresh_fifos 8
    taskset -c 1 "$AFIFO" mux --until=eof "$DIR"/f{0..7} >/dev/null &
    local m=$! t0
    t0=$(now)
    for k in 0 1 2 3 4 5 6 7; do taskset -c 0 cat "$LINES" >"$DIR/f$k" & done
    wait $m
    wait
    echo $(($(now) - t0))
  }
  run_cat() {
    fresh_fifos 1
    taskset -c 1 cat "$DIR/f0" >/dev/null &
    local c=$! t0
    t0=$(now)
    # One writer, the same total bytes as the 8 writers of mux.
    taskset -c 0 bash -c 'for k in 0 1 2 3 4 5 6 7; do cat "$1"; done' _ "$LINES" >"$DIR/f0"
    wait $c
    echo $(($(now) - t0))
  }
  echo "== throughput: 8 x $SIZE_MB MB of lines; $ROUNDS alternating rounds; MB/s median (min-max)"
  mux_t=() cat_t=()
  for ((i = 0; i < ROUNDS; i++)); do
    if ((i % 2 == 0)); then
      mux_t+=("$(run_mux)") cat_t+=("$(run_cat)")
    else
      cat_t+=("$(run_cat)") mux_t+=("$(run_mux)")
    fi
  done
  tp() { for t in "$@"; do echo "$((BYTES * 8 * 1000 / t))"; done; } # MB/s from ns
  mux_s=$(tp "${mux_t[@]}" | stats)
  cat_s=$(tp "${cat_t[@]}" | stats)
  printf '%-34s %s\n' "afifo mux, 8 FIFOs, 8 writers" "$mux_s" "cat, 1 FIFO, 1 writer" "$cat_s"
  mm=$(tp "${mux_t[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}')
  cm=$(tp "${cat_t[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}')
  awk -v m="$mm" -v c="$cm" 'BEGIN {printf "mux/cat (ratio of medians): %.2f\n", m / c}'
fi

if want latency; then
  echo "== latency: $LAT_RATE lines/s for $LAT_SECONDS s, write() to read from the tool's stdout (us)"
  # mux1: mux on one FIFO, like for like with cat; mux: the 8 writers' case.
  for tool in mux cat mux1; do
    if [[ $tool == mux ]]; then
      fresh_fifos 8
      fifos=("$DIR"/f{0..7})
      cmd=(taskset -c 1 "$AFIFO" mux --until=eof "${fifos[@]}")
    elif [[ $tool == mux1 ]]; then
      fresh_fifos 1
      fifos=("$DIR/f0")
      cmd=(taskset -c 1 "$AFIFO" mux --until=eof "$DIR/f0")
    else
      fresh_fifos 1
      fifos=("$DIR/f0")
      cmd=(taskset -c 1 cat "$DIR/f0")
    fi
    python3 - "$LAT_RATE" "$LAT_SECONDS" "$tool" "${fifos[@]}" -- "${cmd[@]}" <<'EOF'
import os, subprocess, sys, threading, time
rate, seconds, tool = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
sep = sys.argv.index("--")
fifos, cmd = sys.argv[4:sep], sys.argv[sep + 1:]
p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
lat = []
def reader():
    buf = b""
    while True:
        b = os.read(p.stdout.fileno(), 1 << 16)
        if not b:
            return
        t = time.monotonic_ns()
        buf += b
        *lines, buf = buf.split(b"\n")
        for l in lines:
            lat.append((t - int(l.split(b" ")[0])) / 1000)
rt = threading.Thread(target=reader)
rt.start()
# The writer: a child pinned to CPU 0, so its pacing loop does not share a
# CPU with the tool or with the reader above.
w = subprocess.Popen([sys.executable, "-c", r'''
import os, sys, time
rate, seconds, fifos = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
fds = [os.open(f, os.O_WRONLY) for f in fifos]
n = int(rate * seconds)
period = 1e9 / rate
start = time.monotonic_ns()
pad = b"x" * 60
for i in range(n):
    due = start + int(i * period)
    while True:
        d = due - time.monotonic_ns()
        if d <= 0:
            break
        if d > 200000:
            time.sleep((d - 100000) / 1e9)
    os.write(fds[i % len(fds)], b"%d %s\n" % (time.monotonic_ns(), pad))
for fd in fds:
    os.close(fd)
''', str(rate), str(seconds), *fifos])
os.sched_setaffinity(w.pid, {0})
w.wait()
p.wait()
rt.join()
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
print(f"{tool:4s} lines {len(lat):6d}  p50 {q(0.5):7.0f}  p99 {q(0.99):7.0f}  max {lat[-1]:7.0f}")
EOF
  done
fi

if want handmade; then
  echo "== hand-made alternative: 8 writers x $MIX_LINES lines of 1 B..64 KiB into one pipe"
  count() { # FILE: lines whole / broken / lost, by checksum
    python3 - "$1" "$MIX_LINES" <<'EOF'
import sys, zlib
data = open(sys.argv[1], "rb").read()
expected = 8 * int(sys.argv[2])
whole = broken = 0
seen = set()
for line in data.split(b"\n")[:-1]:
    parts = line.split(b" ", 3)
    try:
        ok = len(parts) == 4 and zlib.crc32(parts[3]) == int(parts[2], 16)
    except ValueError:
        ok = False
    if ok and (parts[0], parts[1]) not in seen:
        seen.add((parts[0], parts[1]))
        whole += 1
    else:
        broken += 1
print(f"whole {whole:6d}  broken {broken:6d}  lost {expected - whole:6d}  (of {expected})")
EOF
  }
  writers() {
    local pids=()
    for k in 0 1 2 3 4 5 6 7; do
      python3 - "$DIR/f$k" "w$k" "$MIX_LINES" "$k" <<'EOF' &
import os, random, sys, zlib
path, wid, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
table = bytes((97 + i % 26) for i in range(256))
fd = os.open(path, os.O_WRONLY)
for seq in range(count):
    payload = rng.randbytes(max(1, int(2 ** rng.uniform(0, 16)))).translate(table)
    line = b"%s %d %08x " % (wid.encode(), seq, zlib.crc32(payload)) + payload + b"\n"
    v = memoryview(line)
    while len(v):
        v = v[os.write(fd, v):]
os.close(fd)
EOF
      pids+=($!)
    done
    wait "${pids[@]}"
  }
  fresh_fifos 8
  (for k in 0 1 2 3 4 5 6 7; do cat "$DIR/f$k" & done; wait) | cat >"$DIR/handmade.out" &
  h=$!
  writers
  wait $h
  printf '%-26s %s\n' "cat f0 & ... f7 & | cat" "$(count "$DIR/handmade.out")"
  fresh_fifos 8
  "$AFIFO" mux --until=eof "$DIR"/f{0..7} | cat >"$DIR/mux.out" &
  m=$!
  writers
  wait $m
  printf '%-26s %s\n' "afifo mux --until=eof" "$(count "$DIR/mux.out")"
  rm -f "$DIR/handmade.out" "$DIR/mux.out"
fi
rm -f "$DIR"/f*
