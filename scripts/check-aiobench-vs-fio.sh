#!/bin/sh
# Cross-checks aiobench's file-read against fio on the same file, block size
# and depth, and prints the ratios: uring against fio's io_uring engine
# (iodepth=N); sync and pool-per-attempt with --pool-job stream (N pool jobs,
# each a pread loop) against fio's psync engine (numjobs=N). These must be
# within 15%: they validate the pool itself. The pool with --pool-job read
# (a spawn_blocking per read) is printed as a reference row and
# not counted: each read pays two cross-thread wake-ups that psync does not,
# so on cached reads it falls far short. That gap is the hand-off cost of
# a blocking job per read, the finding, not a measuring error.
#
# These VMs are shared and noisy: the disk's O_DIRECT rate moved 3x between
# runs minutes apart, so medians of fio runs against medians of aiobench
# runs taken seconds apart still disagreed by 60%. Each ratio is therefore
# taken between back-to-back runs (fio, then aiobench with the same engine
# model), and the verdict is on the median of REPS such ratios.
# Our sync and pool-per-attempt are threads of one process, so fio runs psync
# with --thread: processes would not share the file table, and on 2 vCPUs
# that alone changes cached-read IOPS by 2x.
#
# Five pairs by default: with three, one slow fio run among them could
# decide a row (fio psync QD1 buffered moved 443k-539k IOPS between
# back-to-back runs while ours stayed within 560-594k).
#
# Where ours is faster than fio psync (QD1 buffered, a ~1.5 us cached
# pread: 1.12-1.15x in the two runs of 2026-11-26, 1.24-1.28x in earlier
# runs with three pairs), it is fio's own per-I/O work: under
# `perf record -e cpu-clock` fio spent 16.5% of its samples in fio's code
# (get_io_u, td_io_queue, fio_gettime, lfsr_next...) against 4.6% for
# aiobench (most of it sorting latencies after the run); the kernel's share
# per read was the same within 5%.
#
# usage: scripts/check-aiobench-vs-fio.sh [AIOBENCH] [DIR] [SECONDS] [REPS]
set -eu

AIOBENCH=${1:-build/tools/aiobench/aiobench}
DIR=${2:-${TMPDIR:-/tmp}}
SECS=${3:-2}
REPS=${4:-5}
command -v fio >/dev/null || { echo "check-aiobench-vs-fio: fio is not installed (apt install fio)" >&2; exit 3; }
[ -x "$AIOBENCH" ] || { echo "check-aiobench-vs-fio: no aiobench at '$AIOBENCH'" >&2; exit 2; }

WORK=$(mktemp -d "$DIR/aiobench-fio.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
FILE=$WORK/data
head -c $((256 * 1024 * 1024)) /dev/urandom >"$FILE"
sync "$FILE" 2>/dev/null || sync
# Buffered rows read from the page cache, as aiobench's do (fio must not drop it: invalidate=0).
cat "$FILE" >/dev/null

fio_iops() { # engine depth direct -> IOPS
  # io_uring: the syscall pattern of the runtime (IORING_OP_READ, every ready
  # SQE submitted in one enter, every CQE reaped in one pass).
  if [ "$1" = io_uring ]; then
    jobs="--iodepth=$2 --numjobs=1 --nonvectored=1 --iodepth_batch_submit=$2 --iodepth_batch_complete_max=$2"
  else jobs="--iodepth=1 --numjobs=$2 --thread"; fi
  # gtod_reduce: fio's per-I/O clock and histogram bookkeeping is a large
  # share of a 1.5 us cached read; aiobench keeps only a timestamp pair per
  # op, so the lighter fio is the like-for-like one (measured: psync QD1
  # buffered went from ~0.7x to ~0.9x of our sync with it). lfsr and the
  # cpu clocksource are fio's cheapest offset generator and clock: with
  # them psync QD1 buffered gained another ~5%, and fio was still the
  # slower of the two (ours/fio 1.15 without them, on 2 us reads).
  # Once in a run of 2026-12-06 fio's JSON did not parse (the QD32 psync
  # run): such a run is repeated, up to three tries, rather than ending the check.
  try=0
  while [ $try -lt 3 ]; do
    # shellcheck disable=SC2086
    if fio --name=check --gtod_reduce=1 --filename="$FILE" --rw=randread --bs=4k --direct="$3" --ioengine="$1" $jobs \
      --time_based --runtime="$SECS" --norandommap --randrepeat=0 --random_generator=lfsr --clocksource=cpu --invalidate=0 --group_reporting \
      --output-format=json 2>/dev/null >"$WORK/fio.json" &&
      python3 -c 'import json,sys; print(round(sum(j["read"]["iops"] for j in json.load(open(sys.argv[1]))["jobs"])))' \
        "$WORK/fio.json" 2>/dev/null; then
      return 0
    fi
    try=$((try + 1))
  done
  echo "check-aiobench-vs-fio: fio failed three times ($1, depth $2, direct=$3)" >&2
  exit 1
}

bench_iops() { # depth mode strategies pool-job -> their IOPS, in the order given
  "$AIOBENCH" -s file-read -S "$3" --pool-job "$4" --file "$FILE" --pattern rand4k --mode "$2" \
    --depth "$1" --duration "$SECS" --reps 1 --json "$WORK/r.json" >/dev/null
  python3 - "$WORK/r.json" "$3" <<'PY'
import json, sys
rows = {r["strategy"]: r["figures"].get("iops", 0) for r in json.load(open(sys.argv[1]))["results"] if not r["skipped"]}
print(" ".join(str(round(rows.get(k, 0))) for k in sys.argv[2].split(",")))
PY
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

ratio() { python3 -c "print(f'{$1 / $2:.4f}' if $2 else 0)"; }

printf 'ratios of back-to-back runs of %s s each (ours / fio), median of %s\n' "$SECS" "$REPS"
printf '%-22s %-11s %-19s %10s %10s %7s  %s\n' case aiobench fio "fio IOPS" "ours IOPS" ratio verdict
fail=0
for mode in direct buffered; do
  direct=0; [ $mode = direct ] && direct=1
  for qd in 1 32; do
    fu=""; fp=""; ou=""; os=""; ot=""; or=""; ru=""; rs=""; rt=""; rr=""
    rep=0
    while [ $rep -lt "$REPS" ]; do
      f=$(fio_iops io_uring $qd $direct)
      o=$(bench_iops $qd $mode uring stream)
      fu="$fu $f"; ou="$ou $o"; ru="$ru $(ratio "$o" "$f")"
      f=$(fio_iops psync $qd $direct)
      set -- $(bench_iops $qd $mode sync,pool-per-attempt stream)
      fp="$fp $f"; os="$os $1"; ot="$ot $2"
      rs="$rs $(ratio "$1" "$f")"; rt="$rt $(ratio "$2" "$f")"
      o=$(bench_iops $qd $mode pool-per-attempt read)
      or="$or $o"; rr="$rr $(ratio "$o" "$f")"
      rep=$((rep + 1))
    done
    # The last word says whether a row counts toward the exit status.
    for row in "uring io_uring:iodepth=$qd $(median $fu) $(median $ou) $(median $ru) counted" \
      "sync psync:numjobs=$qd $(median $fp) $(median $os) $(median $rs) counted" \
      "tp-stream psync:numjobs=$qd $(median $fp) $(median $ot) $(median $rt) counted" \
      "tp-read psync:numjobs=$qd $(median $fp) $(median $or) $(median $rr) reference"; do
      set -- $row
      verdict=$(python3 -c "print(f'{$5:7.2f}  ' + ('ok' if abs($5 - 1) <= 0.15 else 'DIFF'))")
      if [ "$6" = reference ]; then verdict="$verdict (reference, not counted)"; fi
      printf '%-22s %-11s %-19s %10s %10s %s\n' "rand4k qd$qd $mode" "$1" "$(echo "$2" | tr ':' ' ')" \
        "$3" "$4" "$verdict"
      case "$verdict" in *DIFF) [ "$6" = reference ] || fail=1 ;; esac
    done
  done
done
echo
echo "uring vs fio io_uring, and sync and tp-stream (pool-per-attempt --pool-job stream) vs fio psync,"
echo "must be within 15%. tp-read (pool-per-attempt --pool-job read, a job per read) is a reference,"
echo "not counted: the hand-off cost of a blocking job per read (two cross-thread wake-ups per read)."
exit $fail
