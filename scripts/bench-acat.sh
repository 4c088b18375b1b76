#!/usr/bin/env bash
# Benchmarks acat against GNU cat and tail on this machine, side by side:
#   1. a cached file (2 GiB by default) to /dev/null, over a cached file, to a new
#      file and to a pipe
#      (alternating cat and acat, median of each, ratio cat/acat: > 1 means acat is faster);
#   2. append-to-reader latency of `acat -f` vs `tail -f` (a line every 10 ms, p50/p99,
#      and the follower's CPU per line), with bench/follow_latency;
#   3. idle following of 1000 files and of 100 FIFOs: threads and CPU time.
# Usage: scripts/bench-acat.sh [path/to/acat]
# Environment: BENCH_DIR (default /var/tmp/acat-bench), SIZE_MIB (2048), ROUNDS (5),
#              LAT_LINES (300 per tool), IDLE_SECONDS (5), SINKS ("devnull file newfile pipe"),
#              PARTS ("throughput latency idle"), NOCHAIN_ACAT (an acat built with
#              -DCMAKE_CXX_FLAGS=-DACAT_NO_FOLLOW_CHAIN: the latency part then also runs it,
#              the plain coroutine path, to weigh FollowChain).
set -euo pipefail

ACAT=${1:-$(dirname "$0")/../build-acat/tools/acat/acat}
ACAT=$(readlink -f "$ACAT")
DIR=${BENCH_DIR:-/var/tmp/acat-bench}
SIZE_MIB=${SIZE_MIB:-2048}
ROUNDS=${ROUNDS:-5}
LAT_LINES=${LAT_LINES:-300}
IDLE_SECONDS=${IDLE_SECONDS:-5}
SINKS=${SINKS:-devnull file newfile pipe}
PARTS=${PARTS:-throughput latency idle}
mkdir -p "$DIR"
BIG=$DIR/big
if [[ ! -f $BIG || $(stat -c %s "$BIG") -ne $((SIZE_MIB << 20)) ]]; then
  head -c $((SIZE_MIB << 20)) /dev/urandom >"$BIG"
fi
cat "$BIG" >/dev/null # into the page cache

now() { date +%s%N; }
want() { [[ " $PARTS " == *" $1 "* ]]; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# One timed run of "$@" with stdout to the sink; prints nanoseconds.
run_sink() {
  local sink=$1 round=$2
  shift 2
  local t0 t1
  case $sink in
  devnull) t0=$(now); "$@" "$BIG" >/dev/null; t1=$(now) ;;
  # Over a cached file of the same size, in place (1<>): the tools' own
  # work. A fresh file costs new page-cache pages, and on this VM (free page
  # reporting) the host faults each one in: the same cat took 0.6-5.7 s,
  # whichever tool ran. newfile measures that case anyway, each run after
  # removing the last output and a sync, so every run starts alike.
  file)
    local out=$DIR/over
    [[ -f $out && $(stat -c %s "$out") -eq $(stat -c %s "$BIG") ]] || cp "$BIG" "$out"
    t0=$(now); "$@" "$BIG" 1<>"$out"; t1=$(now)
    ;;
  newfile)
    rm -f "$DIR"/out.*
    sync
    t0=$(now); "$@" "$BIG" >"$DIR/out.$round"; t1=$(now)
    ;;
  # Both ends pinned the same way for every variant.
  pipe) t0=$(now); taskset -c 0 "$@" "$BIG" | taskset -c 1 cat >/dev/null; t1=$(now) ;;
  esac
  echo $((t1 - t0))
}

if want throughput; then
echo "== throughput: ${SIZE_MIB} MiB cached file, $ROUNDS alternating rounds, median =="
printf '%-8s %12s %12s %8s\n' sink cat-MB/s acat-MB/s cat/acat
for sink in $SINKS; do
  cat_t=() acat_t=()
  for ((i = 0; i < ROUNDS; i++)); do
    # Alternate which tool goes first, so neither always follows the other.
    if ((i % 2 == 0)); then
      cat_t+=("$(run_sink $sink "c$i" cat)")
      acat_t+=("$(run_sink $sink "a$i" "$ACAT")")
    else
      acat_t+=("$(run_sink $sink "a$i" "$ACAT")")
      cat_t+=("$(run_sink $sink "c$i" cat)")
    fi
  done
  rm -f "$DIR"/out.*
  c=$(printf '%s\n' "${cat_t[@]}" | median)
  a=$(printf '%s\n' "${acat_t[@]}" | median)
  awk -v c="$c" -v a="$a" -v s="$sink" -v mib="$SIZE_MIB" \
    'BEGIN {printf "%-8s %12.0f %12.0f %8.2f\n", s, mib*1048.576/(c/1e6), mib*1048.576/(a/1e6), c/a}'
done
# Threads while copying: read /proc once the copy is under way.
"$ACAT" "$BIG" | (sleep 0.05; ls /proc/"$(pgrep -n -x acat)"/task 2>/dev/null | wc -l >"$DIR/threads"; cat >/dev/null) || true
echo "acat threads during a pipe copy: $(cat "$DIR/threads") (1 = no io-wq worker)"
fi
if want latency; then
echo
echo "== follow latency: a line appended every 10 ms, time to the reader of stdout =="
# bench/follow_latency times the follower alone (the old python reader added
# 20-30 us of its own per line) and reports its CPU per line from schedstat.
# --interleave runs both at once and gives them the lines in turn: the
# per-line difference it prints cancels the machine's drift, which moves
# whole-run medians by several us from one run to the next.
FOLLOW_LATENCY=${FOLLOW_LATENCY:-$(dirname "$ACAT")/../../bench/follow_latency}
# bench/uring_follow is the floor: a bare liburing loop on acat's path per
# line, so what acat's own code adds shows in the same run.
URING_FOLLOW=$(dirname "$FOLLOW_LATENCY")/uring_follow
if [ -x "$FOLLOW_LATENCY" ]; then
  floor=()
  [ -x "$URING_FOLLOW" ] && floor=("$URING_FOLLOW")
  # A second tail -f (A/A) shows what two identical followers differ by.
  nochain=()
  [ -n "${NOCHAIN_ACAT:-}" ] && nochain=("$(readlink -f "$NOCHAIN_ACAT") -n 0 -f")
  followers=("tail -n 0 -f" "$ACAT -n 0 -f" "${nochain[@]}" "tail -n 0 -f" "${floor[@]}")
  # Rounds: twice the followers, so each starts the turn equally often.
  "$FOLLOW_LATENCY" --interleave "$DIR" "$LAT_LINES" $((2 * ${#followers[@]})) "${followers[@]}"
else
  echo "(skipped: no bench/follow_latency at $FOLLOW_LATENCY; build with AIO_BUILD_BENCH=ON)"
fi
fi
if want idle; then
echo
echo "== idle following: threads and CPU over ${IDLE_SECONDS} s =="
ticks=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' /proc/"$1"/stat; }
idle_probe() { # label pid
  local label=$1 pid=$2 c0 c1
  sleep 1
  c0=$(cpu_of "$pid")
  sleep "$IDLE_SECONDS"
  c1=$(cpu_of "$pid")
  printf '%-28s threads %3d  cpu %5.2f%%\n' "$label" "$(ls /proc/"$pid"/task | wc -l)" \
    "$(awk -v d=$((c1 - c0)) -v t="$ticks" -v s="$IDLE_SECONDS" 'BEGIN {print 100*d/t/s}')"
}
mkdir -p "$DIR/files" "$DIR/fifos"
for i in $(seq 1000); do : >"$DIR/files/f$i"; done
for tool in "$ACAT -f" "tail -n0 -f" "$ACAT -F" "tail -n0 -F"; do
  # shellcheck disable=SC2086
  $tool "$DIR"/files/f* >/dev/null 2>&1 &
  pid=$!
  idle_probe "$(basename "${tool%% *}") ${tool#* } 1000 files" $pid
  kill $pid; wait $pid 2>/dev/null || true
done
rm -f "$DIR"/fifos/p*
for i in $(seq 100); do mkfifo "$DIR/fifos/p$i"; done
"$ACAT" -f "$DIR"/fifos/p* >/dev/null &
pid=$!
idle_probe "acat -f 100 FIFOs, no writer" $pid
# Writers connected but silent: hold every FIFO open for writing.
python3 -c '
import os, sys, time, glob
fds = []
for p in glob.glob(sys.argv[1] + "/p*"):
    while True:
        try: fds.append(os.open(p, os.O_WRONLY | os.O_NONBLOCK)); break
        except OSError: time.sleep(0.01)
time.sleep(float(sys.argv[2]) + 2)' "$DIR/fifos" "$IDLE_SECONDS" &
holder=$!
idle_probe "acat -f 100 FIFOs, writers" $pid
kill $pid $holder; wait $pid $holder 2>/dev/null || true
fi
