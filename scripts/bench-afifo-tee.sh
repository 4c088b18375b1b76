#!/usr/bin/env bash
# afifo tee with real processes, against one cat and GNU tee, in one run:
#   A. fan-out: `cat IN | afifo tee -o f1..f4` with a `cat fN >/dev/null`
#      reader per FIFO, against `cat IN | cat > f1` with one reader (the
#      issue's target: >= 0.8x), and `cat IN | tee f1 f2 f3 > f4`.
#   B. a stopped reader under --on-slow=drop: 3 running readers plus a 4th
#      stopped with SIGSTOP, against the same 3 readers alone; the time is
#      until the 3 running readers have everything (their EOF). The input
#      is paced (DROP_RATE MB/s, 0: as fast as cat): under drop nothing
#      holds back a source faster than the readers, so unpaced they lose
#      records in both variants and the times compare different bytes.
#      Also printed: afifo's CPU time and the running readers' lost records.
# Rounds alternate the variants; each variant's median and spread (min-max)
# are printed, and ratios of medians. Source and tool run on CPU 0, the
# readers on CPU 1, in every variant. The input is in the page cache.
#
#   [SRC_CPU=0] [READ_CPU=1] [DROP_BUFFER=16M] [BASE=other-afifo] \
#     scripts/bench-afifo-tee.sh [AFIFO] [MiB] [ROUNDS]
# BASE: another afifo binary (e.g. before a change), whose tee to 4 readers
# runs in the same rounds, side by side with AFIFO's.
# The stopped reader's queue is filled once (DROP_BUFFER of fresh memory,
# page faults included): a longer input shows the steady cost better.
set -euo pipefail
AFIFO=$(realpath "${1:-build/tools/afifo/afifo}")
MIB=${2:-256}
ROUNDS=${3:-5}
# Where the processes run (the same in every variant); a drop run's
# --buffer (large enough that the running readers lose nothing: checked).
SRC_CPU=${SRC_CPU:-0}
READ_CPU=${READ_CPU:-1}
DROP_BUFFER=${DROP_BUFFER:-16M}
DROP_RATE=${DROP_RATE:-400}
BASE=${BASE:+$(realpath "$BASE")}

W=$(mktemp -d /tmp/bench-afifo-tee.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

# Lines of 100 bytes.
python3 - "$W/in" "$MIB" <<'EOF'
import sys
line = b"%099d\n"
block = b"".join(b"%099d\n" % i for i in range(10000))
with open(sys.argv[1], "wb") as f:
    left = int(sys.argv[2]) << 20
    while left > 0:
        f.write(block[:left])
        left -= len(block)
EOF
BYTES=$(stat -c %s "$W/in")
# The paced source: 1 MiB writes, each at its time for RATE MB/s. The
# time starts at its first write (written to T0FILE: not python's start-up).
cat > "$W/pace.py" <<'EOF'
import sys, time
src, dst, rate, t0file = sys.argv[1], sys.argv[2], float(sys.argv[3]) * 1e6, sys.argv[4]
with open(src, "rb") as f, open(dst, "wb", buffering=0) as out:
    with open(t0file, "w") as t:
        t.write("%.9f" % time.time())
    t0, sent = time.monotonic(), 0
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        out.write(b)
        sent += len(b)
        ahead = t0 + sent / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
EOF
cat "$W/in" > /dev/null

now() { date +%s.%N; }

# Starts a reader of FIFO $1 on the readers' CPU; its pid goes in $rpid.
reader() {
  taskset -c $READ_CPU cat "$1" > /dev/null &
  rpid=$!
  pids+=("$rpid")
}

fifos() {
  rm -f "$W"/f*
  for i in $(seq 1 "$1"); do mkfifo "$W/f$i"; done
}

# Waits until process $1 has FIFO $2 open.
wait_open() {
  for _ in $(seq 1 2000); do
    for fd in /proc/"$1"/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" = "$2" ] && return 0
    done
    sleep 0.005
  done
  echo "bench: reader never opened $2" >&2
  return 1
}

v_cat1() {
  fifos 1
  reader "$W/f1"
  local r=$rpid t0 t1
  t0=$(now)
  taskset -c $SRC_CPU cat "$W/in" | taskset -c $SRC_CPU cat > "$W/f1"
  wait "$r"
  t1=$(now)
  echo "$t0 $t1"
}

v_tee4() {
  local bin=${1:-$AFIFO}
  fifos 4
  local rs=() t0 t1
  for i in 1 2 3 4; do reader "$W/f$i"; rs+=("$rpid"); done
  t0=$(now)
  taskset -c $SRC_CPU cat "$W/in" |
    taskset -c $SRC_CPU "$bin" tee -o "$W/f1" -o "$W/f2" -o "$W/f3" -o "$W/f4"
  wait "${rs[@]}"
  t1=$(now)
  echo "$t0 $t1"
}

v_gnutee4() {
  fifos 4
  local rs=() t0 t1
  for i in 1 2 3 4; do reader "$W/f$i"; rs+=("$rpid"); done
  t0=$(now)
  taskset -c $SRC_CPU cat "$W/in" |
    taskset -c $SRC_CPU tee "$W/f1" "$W/f2" "$W/f3" > "$W/f4"
  wait "${rs[@]}"
  t1=$(now)
  echo "$t0 $t1"
}

# $1: 0 = three readers alone, 1 = plus a fourth, stopped. tee reads a
# FIFO fed only once the readers are set up (and the 4th stopped), so the
# setup is outside the time.
v_drop() {
  local stopped=$1 n=3 rs=() t0 t1 tee slow=""
  [ "$stopped" = 1 ] && n=4
  fifos $n
  rm -f "$W/src"
  mkfifo "$W/src"
  local outs=()
  for i in $(seq 1 $n); do outs+=(-o "$W/f$i"); done
  # The running readers must lose nothing (checked below): the same bytes
  # delivered in both variants.
  taskset -c $SRC_CPU /usr/bin/time -f "%U %S" -o "$W/cpu" \
    "$AFIFO" tee --on-slow=drop --buffer="$DROP_BUFFER" "$W/src" "${outs[@]}" 2> "$W/err" &
  tee=$!
  for i in 1 2 3; do reader "$W/f$i"; rs+=("$rpid"); done
  if [ "$stopped" = 1 ]; then
    reader "$W/f4"
    slow=$rpid
    wait_open "$slow" "$W/f4"
    kill -STOP "$slow"
  fi
  for i in 1 2 3; do wait_open "${rs[i - 1]}" "$W/f$i"; done
  t0=$(now)
  if [ "$DROP_RATE" = 0 ]; then
    taskset -c $SRC_CPU cat "$W/in" > "$W/src"
  else
    taskset -c $SRC_CPU python3 "$W/pace.py" "$W/in" "$W/src" "$DROP_RATE" "$W/t0"
    t0=$(cat "$W/t0")
  fi
  wait "${rs[@]}"
  t1=$(now)
  [ -n "$slow" ] && kill -CONT "$slow"
  wait "$tee"
  [ -n "$slow" ] && wait "$slow"
  local lost=0 cpu
  for i in 1 2 3; do
    lost=$((lost + $(sed -n "s|^afifo: $W/f$i: dropped \([0-9]*\) records.*|\1|p" "$W/err")))
  done
  cpu=$(awk '{print $1 + $2}' "$W/cpu")
  echo "$t0 $t1 $cpu $lost"
}

declare -A times cpus losts
variants=(cat1 tee4 gnutee4 drop3 drop3stopped)
[ -n "$BASE" ] && variants+=(tee4base)
for round in $(seq 1 "$ROUNDS"); do
  for v in "${variants[@]}"; do
    case $v in
    cat1) r=$(v_cat1) ;;
    tee4) r=$(v_tee4) ;;
    tee4base) r=$(v_tee4 "$BASE") ;;
    gnutee4) r=$(v_gnutee4) ;;
    drop3) r=$(v_drop 0) ;;
    drop3stopped) r=$(v_drop 1) ;;
    esac
    # shellcheck disable=SC2086
    set -- $r
    times[$v]+="$(python3 -c "print($2 - $1)") "
    if [ $# -ge 4 ]; then
      cpus[$v]+="$3 "
      losts[$v]+="$4 "
    fi
  done
  echo "round $round done" >&2
done

DROP_RATE=$DROP_RATE SRC_CPU=$SRC_CPU READ_CPU=$READ_CPU python3 - "$BYTES" "$ROUNDS" "${times[cat1]}" "${times[tee4]}" "${times[gnutee4]}" \
  "${times[drop3]}" "${times[drop3stopped]}" ${BASE:+"${times[tee4base]}"} \
  DROP "${cpus[drop3]}" "${cpus[drop3stopped]}" "${losts[drop3]}" "${losts[drop3stopped]}" <<'EOF'
import statistics, sys
nbytes, rounds = int(sys.argv[1]), int(sys.argv[2])
names = ["cat1", "tee4", "gnutee4", "drop3", "drop3stopped", "tee4base"]
desc = {
    "cat1": "cat IN | cat > fifo, 1 reader",
    "tee4": "cat IN | afifo tee, 4 readers",
    "gnutee4": "cat IN | GNU tee, 4 readers",
    "drop3": "afifo tee --on-slow=drop, 3 readers",
    "drop3stopped": "  same + a 4th reader stopped",
    "tee4base": "cat IN | BASE afifo tee, 4 readers",
}
med = {}
import os
print("input %d MiB, %d rounds, source+tool on CPU %s, readers on CPU %s"
      % (nbytes >> 20, rounds, os.environ["SRC_CPU"], os.environ["READ_CPU"]))
print("%-38s %10s %10s %10s" % ("variant", "median MB/s", "min", "max"))
args = sys.argv[3:]
drop = args[args.index("DROP") + 1:]
args = args[:args.index("DROP")]
for n, arg in zip(names, args):
    rates = [nbytes / 1e6 / float(t) for t in arg.split()]
    med[n] = statistics.median(rates)
    print("%-38s %10.0f %10.0f %10.0f" % (desc[n], med[n], min(rates), max(rates)))
print("afifo tee to 4 / one cat:           %.2fx (target >= 0.8x)" % (med["tee4"] / med["cat1"]))
print("GNU tee to 4 / one cat:             %.2fx" % (med["gnutee4"] / med["cat1"]))
print("drop, a 4th reader stopped / 3 alone: %.2fx (the others' throughput; input paced at %s MB/s)"
      % (med["drop3stopped"] / med["drop3"], os.environ["DROP_RATE"] + (" (0: unpaced)" if os.environ["DROP_RATE"] == "0" else "")))
cpu3, cpu4 = ([float(x) for x in a.split()] for a in drop[:2])
lost3, lost4 = (sum(int(x) for x in a.split()) for a in drop[2:4])
print("  afifo CPU s, median (min-max): 3 alone %.3f (%.3f-%.3f), + stopped %.3f (%.3f-%.3f): %.2fx"
      % (statistics.median(cpu3), min(cpu3), max(cpu3), statistics.median(cpu4), min(cpu4),
         max(cpu4), statistics.median(cpu4) / statistics.median(cpu3)))
print("  records the 3 running readers lost, all rounds: %d alone, %d with the stopped one"
      % (lost3, lost4))
if "tee4base" in med:
    print("BASE afifo tee to 4 / one cat:      %.2fx; afifo / BASE: %.2fx"
          % (med["tee4base"] / med["cat1"], med["tee4"] / med["tee4base"]))
EOF
