#!/usr/bin/env bash
# The readiness backend (where io_uring is denied) against GNU cat and tail,
# side by side in one run, with acat on io_uring beside it:
#   1. a cached file to a pipe (both ends pinned the same way for every
#      variant, alternating rounds; medians and min-max of MB/s);
#   2. append-to-reader latency of `acat -f` vs `tail -f` (bench/follow_latency
#      --interleave, with a second tail -f as the A/A reference, and
#      bench/epoll_follow: a bare epoll loop making the backend's syscalls);
#   3. a FIFO cancel storm: threads, fds and RSS as it goes (bench/cancel_storm).
# Usage: scripts/bench-epoll.sh [BUILD_DIR]   (default build)
# Environment: BENCH_DIR (/var/tmp/epoll-bench), SIZE_MIB (1024), ROUNDS (5),
#              LAT_LINES (200 per round), LAT_ROUNDS (10).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(readlink -f "${1:-build}")
ACAT=$B/tools/acat/acat
DIR=${BENCH_DIR:-/var/tmp/epoll-bench}
SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-5}
LAT_LINES=${LAT_LINES:-200}
LAT_ROUNDS=${LAT_ROUNDS:-10}
mkdir -p "$DIR"
BIG=$DIR/big
if [[ ! -f $BIG || $(stat -c %s "$BIG") -ne $((SIZE_MIB << 20)) ]]; then
  head -c $((SIZE_MIB << 20)) /dev/urandom >"$BIG"
fi
cat "$BIG" >/dev/null # into the page cache

echo "acat: $("$ACAT" --version | tail -1) by default; the epoll rows force AIO_BACKEND=epoll"
echo
echo "== ${SIZE_MIB} MiB cached file to a pipe, $ROUNDS alternating rounds: MB/s median (min-max)"
variants=("cat" "env AIO_BACKEND=epoll $ACAT" "env AIO_BACKEND=uring $ACAT")
labels=("cat" "acat epoll" "acat io_uring")
declare -A times
for ((i = 0; i < ROUNDS; i++)); do
  # Rotate the order so no variant always follows another.
  for ((k = 0; k < ${#variants[@]}; k++)); do
    j=$(((k + i) % ${#variants[@]}))
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    taskset -c 0 ${variants[j]} "$BIG" | taskset -c 1 cat >/dev/null
    t1=$(date +%s%N)
    times[$j]+="$((t1 - t0)) "
  done
done
for ((j = 0; j < ${#variants[@]}; j++)); do
  # shellcheck disable=SC2086
  printf '%s\n' ${times[$j]} | sort -n | awk -v l="${labels[j]}" -v mib="$SIZE_MIB" '
    {a[NR] = mib * 1048.576 / ($1 / 1e6)}
    END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
         printf "%-14s %7.0f MB/s (%.0f-%.0f)\n", l, m, a[NR], a[1]}'
done

echo
echo "== follow latency: a line appended every 10 ms; per-line difference against the first tail"
"$B/bench/follow_latency" --interleave "$DIR" "$LAT_LINES" "$LAT_ROUNDS" "tail -n 0 -f" \
  "env AIO_BACKEND=epoll $ACAT -n 0 -f" "env AIO_BACKEND=uring $ACAT -n 0 -f" \
  "$B/bench/epoll_follow" "tail -n 0 -f"

echo
echo "== FIFO cancel storm (a read armed, then cancelled, 100000 times)"
"$B/bench/cancel_storm" 100000
