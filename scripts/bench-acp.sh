#!/usr/bin/env bash
# acp against GNU cp, side by side: the same inputs, alternating runs, page
# cache warm, a fresh destination name every round (on an ext4 without a
# journal, re-creating files just deleted is many times slower), ratios of
# medians. Also peak RSS, user threads and io-wq workers seen during the run.
# Usage: scripts/bench-acp.sh [path/to/acp] [rounds]
#   ACP_BENCH_EXT4=/var/tmp ACP_BENCH_TMPFS=/dev/shm ACP_BENCH_BIG_MIB=2048 (0: no big file)
set -eu
ACP=$(readlink -f "${1:-build/tools/acp/acp}")
ROUNDS=${2:-5}
EXT4=${ACP_BENCH_EXT4:-/var/tmp}
TMPFS=${ACP_BENCH_TMPFS:-/dev/shm}
BIG_MIB=${ACP_BENCH_BIG_MIB:-2048}
[ -x "$ACP" ] || { echo "bench-acp: no acp at $ACP (build it first)"; exit 1; }
DIRS=()
cleanup() { for d in "${DIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

# Runs CMD, prints
# "seconds max_rss_kib user_threads iowq_workers cpu_seconds user_thread_cpu iowq_cpu".
# With SAMPLE=1 it samples /proc/PID/task every 2 ms for the thread counts
# and the split of CPU time; the sampler takes CPU the copy would use (acp
# uses both CPUs, cp one), so timed rounds run with SAMPLE=0 (those fields 0)
# and one extra, untimed run samples.
# (cpu_seconds: every thread, io-wq workers included: on a loaded machine the
# figure that moves least; the last two split it, as last sampled, in clock
# ticks: on two idle CPUs acp cannot take less than the larger of its own
# thread and half of the whole).
RUN_PY='
import os, sys, time
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
users = workers = 0
cpu = {}  # tid -> (is io-wq worker, utime+stime in ticks)
hz = os.sysconf("SC_CLK_TCK")
sample = os.environ.get("SAMPLE") == "1"
while True:
    done, status, ru = os.wait4(pid, 0 if not sample else os.WNOHANG)
    if done:
        break
    try:
        # A kernel io-wq worker has PF_IO_WORKER (0x10) in its flags (field
        # 9 of stat); its comm may still be that of the parent just after creation.
        flags = []
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            flags.append(int(fields[6]))
            cpu[t] = (int(fields[6]) & 0x10 != 0, int(fields[11]) + int(fields[12]))
        w = sum(1 for fl in flags if fl & 0x10)
        users, workers = max(users, len(flags) - w), max(workers, w)
    except OSError:
        pass
    time.sleep(0.002)
dt = time.monotonic() - t0
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"failed: {sys.argv[1:]}")
own = sum(c for w, c in cpu.values() if not w) / hz
wq = sum(c for w, c in cpu.values() if w) / hz
print(f"{dt:.4f} {ru.ru_maxrss} {users} {workers} {ru.ru_utime + ru.ru_stime:.4f} {own:.2f} {wq:.2f}")
'
run() { SAMPLE=0 python3 -c "$RUN_PY" "$@"; }
sampled() { SAMPLE=1 python3 -c "$RUN_PY" "$@"; }

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# bench NAME SRC DESTDIR CP_ARGS... : ROUNDS alternating rounds of cp and acp.
bench() {
  local name=$1 src=$2 out=$3
  shift 3
  local cpt=() act=() cpc=() acc=() t r u w c o q rss_cp=0 rss_acp=0 i tool
  # One warm-up of each: source pages in the cache, binaries loaded.
  run cp "$@" "$src" "$out/warm-cp" >/dev/null
  run "$ACP" "$@" "$src" "$out/warm-acp" >/dev/null
  [ "${DROP:-0}" = 1 ] && rm -f "$out/warm-cp" "$out/warm-acp"
  for ((i = 0; i < ROUNDS; i++)); do
    # Alternate which goes first, so drift falls on both alike.
    for tool in $([ $((i % 2)) -eq 0 ] && echo "cp acp" || echo "acp cp"); do
      if [ "$tool" = cp ]; then
        read -r t r _ _ c _ < <(run cp "$@" "$src" "$out/cp-$i")
        cpt+=("$t")
        cpc+=("$c")
        ((r > rss_cp)) && rss_cp=$r
      else
        read -r t r _ _ c _ < <(run "$ACP" "$@" "$src" "$out/acp-$i")
        act+=("$t")
        acc+=("$c")
        ((r > rss_acp)) && rss_acp=$r
      fi
      [ "${DROP:-0}" = 1 ] && rm -f "$out/$tool-$i"
    done
    sync
  done
  # Threads, io-wq workers and where acp's CPU goes: one more run, sampled, not timed.
  read -r _ _ u w _ o q < <(sampled "$ACP" "$@" "$src" "$out/acp-sampled")
  [ "${DROP:-0}" = 1 ] && rm -f "$out/acp-sampled"
  sync
  local mc ma
  mc=$(printf '%s\n' "${cpt[@]}" | median)
  ma=$(printf '%s\n' "${act[@]}" | median)
  printf '%-28s cp %7.3fs [%s]  acp %7.3fs [%s]  cp/acp %.2fx  rss cp %d KiB acp %d KiB  acp threads %d iou-wrk %d\n' \
    "$name" "$mc" "$(printf '%s ' "${cpt[@]}" | sed 's/ $//')" "$ma" "$(printf '%s ' "${act[@]}" | sed 's/ $//')" \
    "$(echo "$mc $ma" | awk '{ print $1 / $2 }')" "$rss_cp" "$rss_acp" "$u" "$w"
  printf '%-28s cpu: cp %.3fs [%s]  acp %.3fs [%s]  (user+sys, all threads; medians)\n' "" \
    "$(printf '%s\n' "${cpc[@]}" | median)" "$(printf '%s ' "${cpc[@]}" | sed 's/ $//')" \
    "$(printf '%s\n' "${acc[@]}" | median)" "$(printf '%s ' "${acc[@]}" | sed 's/ $//')"
  printf '%-28s acp cpu by thread (the sampled run): its own %.2fs  io-wq workers %.2fs\n' "" "$o" "$q"
}

small_tree() {
  # 200 directories of 100 files of 4 KiB (distinct random content), made in one process.
  python3 -c '
import os, sys
root = sys.argv[1]
for d in range(200):
    os.makedirs(f"{root}/d{d}")
    for f in range(100):
        with open(f"{root}/d{d}/f{f}", "wb") as out:
            out.write(os.urandom(4096))
' "$1"
}

echo "acp $("$ACP" --version | head -1); $(cp --version | head -1); $(nproc) CPUs; $ROUNDS rounds; medians, [each run]"
for base in "$EXT4" "$TMPFS"; do
  fs=$(stat -f -c %T "$base")
  work=$(mktemp -d "$base/acp-bench.XXXXXX")
  DIRS+=("$work")
  small_tree "$work/src"
  mkdir "$work/out"
  bench "20000x4KiB -r ($fs)" "$work/src" "$work/out" -r
  rm -rf "$work/out" "$work/src"
  [ "$BIG_MIB" -gt 0 ] || { rm -rf "$work"; continue; }
  head -c $((BIG_MIB << 20)) /dev/urandom >"$work/big"
  mkdir "$work/out"
  # Each copy is removed once timed: 2 GiB copies add up (on tmpfs, in RAM).
  DROP=1 bench "${BIG_MIB}MiB file ($fs)" "$work/big" "$work/out"
  rm -rf "$work"
done
