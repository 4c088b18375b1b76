#!/usr/bin/env bash
# acat where io_uring is denied, as in a default Docker container: under
# deny_uring (a seccomp filter making io_uring_setup fail with EPERM) and,
# when root on a kernel that has it, under kernel.io_uring_disabled=2, acat
# must give the same bytes and exit codes as without, on the readiness
# backend, silently. Asserts bytes and exit codes only.
# acp too (a tree copy: bytes, modes, links, exit codes), afifo mux (the
# same records from writer processes, exit codes and thread count), and every
# tool's --version names the backend it would run on.
# Usage: backend_e2e.sh path/to/acat path/to/deny_uring path/to/acp path/to/aiobench path/to/afifo
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACAT=$(readlink -f "$1")
DENY=$(readlink -f "$2")
ACP=$(readlink -f "$3")
AIOBENCH=$(readlink -f "$4")
AFIFO=$(readlink -f "$5")
T=$(mktemp -d "$PWD/backend-e2e.XXXXXX" 2>/dev/null || mktemp -d /tmp/backend-e2e.XXXXXX)
SYSCTL=/proc/sys/kernel/io_uring_disabled
OLD_SYSCTL=
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  # Whatever happened, the host gets its io_uring back.
  [[ -n "$OLD_SYSCTL" ]] && echo "$OLD_SYSCTL" >"$SYSCTL"
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$T" || exit 1
unset AIO_BACKEND AIO_TRACE
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"

# The corpus: text, binary, empty, a file larger than a pipe, a missing one.
printf 'one\ntwo\nthree\n' >small
head -c 300000 /dev/urandom >binary
: >empty
seq 1 200000 >big
mkfifo fifo

# run_case NAME WRAPPER...: runs each acat invocation plainly and under
# WRAPPER, and compares stdout bytes, stderr and exit codes.
# Each invocation is "shell text" with $A standing for acat.
CASES=(
  '$A small binary empty big'
  '$A small missing big'
  '$A <big'
  'cat big | $A - small'
  '$A big | cat'
  '$A -n 5 big small'
  '$A -c +1000 binary'
  '$A -n +199990 big'
  '(sleep 0.2; echo through-fifo >fifo) & $A fifo; wait'
  '$A big | head -c 10'
  '$A --bogus-option'
)
run_cases() {
  local label=$1 i
  shift
  for i in "${!CASES[@]}"; do
    local c=${CASES[$i]}
    A=$ACAT bash -c "${c//\$A/$ACAT}" >"want.$i" 2>"want_err.$i"
    local want=$?
    A=$ACAT "$@" bash -c "${c//\$A/$ACAT}" >"got.$i" 2>"got_err.$i"
    local got=$?
    eq "$label: exit code of '$c'" "$got" "$want"
    if cmp -s "want.$i" "got.$i"; then ok; else fail "$label: stdout of '$c' differs"; fi
    if cmp -s "want_err.$i" "got_err.$i"; then ok; else
      fail "$label: stderr of '$c' differs"
      diff "want_err.$i" "got_err.$i" | head -4
    fi
  done
}

# The filter itself: forcing io_uring under it fails as io_uring fails today.
AIO_BACKEND=uring "$DENY" "$ACAT" small >/dev/null 2>err
eq "forced uring under the filter exits" "$?" 1
eq "forced uring under the filter says why" "$(cat err)" \
  "acat: cannot set up io_uring: Operation not permitted"

# A profile that allows io_uring_setup but denies io_uring_register (the
# opcode probe): the reason given is that denial, not missing opcodes, and
# unforced it falls back as silently.
AIO_BACKEND=uring "$DENY" --register "$ACAT" small >/dev/null 2>err
eq "forced uring with io_uring_register denied exits" "$?" 1
eq "forced uring with io_uring_register denied says why" "$(cat err)" \
  "acat: cannot probe io_uring's operations: Operation not permitted"
eq "io_uring_register denied: bytes" "$("$DENY" --register "$ACAT" small 2>&1)" "$(cat small)"

# Silently on the readiness backend; AIO_TRACE says which.
AIO_TRACE=1 "$DENY" "$ACAT" small 2>trace >/dev/null
if grep -q 'backend    epoll: cannot set up io_uring: Operation not permitted' trace; then ok; else
  fail "AIO_TRACE names the epoll backend and why"
  head -3 trace
fi

run_cases seccomp "$DENY"

# acat -f under the filter: what is appended comes out, once.
: >grow
"$DENY" "$ACAT" -f grow >follow.out 2>follow.err &
PIDS+=($!)
for ((i = 0; i < 2000; i++)); do
  [[ -n "$(ls -l /proc/${PIDS[-1]}/fd 2>/dev/null | grep grow)" ]] && break
  sleep 0.01
done
sleep 0.2 # the watch is set once the first pass is over
printf 'line 1\n' >>grow
for ((i = 0; i < 2000; i++)); do grep -q 'line 1' follow.out && break; sleep 0.01; done
printf 'line 2\nline 3\n' >>grow
for ((i = 0; i < 2000; i++)); do grep -q 'line 3' follow.out && break; sleep 0.01; done
kill -TERM "${PIDS[-1]}"
wait "${PIDS[-1]}"
eq "acat -f under the filter: exit code after SIGTERM" "$?" 143
eq "acat -f under the filter: bytes" "$(cat follow.out)" "$(printf 'line 1\nline 2\nline 3')"
eq "acat -f under the filter: threads" "$(ls /proc/self/task | wc -l)" 1

# --version of every tool names the backend, and why not io_uring.
for tool in "$ACAT" "$ACP" "$AIOBENCH" "$AFIFO"; do
  name=$(basename "$tool")
  eq "$name --version, io_uring usable" "$("$tool" --version | tail -n 1)" "backend: io_uring"
  eq "$name --version under the filter" "$("$DENY" "$tool" --version | tail -n 1)" \
    "backend: epoll (cannot set up io_uring: Operation not permitted)"
  eq "$name --version, AIO_BACKEND=epoll" "$(AIO_BACKEND=epoll "$tool" --version | tail -n 1)" \
    "backend: epoll (AIO_BACKEND=epoll)"
done

# acp under the filter: the same tree, modes, links and exit codes as without.
mkdir -p src/sub
printf 'alpha\n' >src/a
head -c 300000 /dev/urandom >src/sub/bin
ln -s a src/link
ln src/a src/hard
chmod 640 src/sub/bin
tree_of() { (cd "$1" && find . -printf '%p %y %m %l %n\n' | sort && find . -type f -exec md5sum {} + | sort); }
"$ACP" -a src plain.out 2>plain.err
want=$?
"$DENY" "$ACP" -a src denied.out 2>denied.err
got=$?
eq "acp -a under the filter: exit code" "$got" "$want"
eq "acp -a under the filter: tree" "$(tree_of denied.out)" "$(tree_of plain.out)"
eq "acp -a: the copy is right" "$(tree_of plain.out)" "$(tree_of src)"
"$ACP" src/missing x.out 2>want_err; want=$?
"$DENY" "$ACP" src/missing x.out 2>got_err; got=$?
eq "acp of a missing file under the filter: exit code" "$got" "$want"
eq "acp of a missing file under the filter: message" "$(cat got_err)" "$(cat want_err)"
"$DENY" "$ACP" src/a single.out
eq "acp of one file under the filter: bytes" "$(cat single.out)" "alpha"

# afifo mux under the filter: two FIFOs, each fed by three writer processes
# in turn through one open (--until=eof ends when the first writer of each
# has gone); the same records, each whole, and the same exit code as
# without the filter; one thread while it waits.
mkfifo mux_a mux_b
mux_run() { # OUT WRAPPER...
  local out=$1 pid
  shift
  "$@" "$AFIFO" mux --until=eof --tag='{index} ' mux_a mux_b >"$out" 2>"$out.err" &
  pid=$!
  PIDS+=("$pid")
  sleep 0.2
  eq "afifo mux ($*): threads while it waits" "$(ls /proc/"$pid"/task | wc -l)" 1
  for f in a b; do
    (for w in 1 2 3; do seq -f "$f$w-%g" 1 2000; done) >mux_$f &
    PIDS+=($!)
  done
  wait "$pid"
  echo $? >"$out.code"
}
mux_run mux.plain env
mux_run mux.denied "$DENY"
eq "afifo mux under the filter: exit code" "$(cat mux.denied.code)" "$(cat mux.plain.code)"
eq "afifo mux: exit code" "$(cat mux.plain.code)" 0
eq "afifo mux under the filter: records" "$(sort mux.denied | md5sum)" "$(sort mux.plain | md5sum)"
eq "afifo mux: every record once" "$(wc -l <mux.plain)" 12000
eq "afifo mux: records whole" "$(grep -cvE '^(1 a|2 b)[123]-[0-9]+$' mux.plain)" 0
eq "afifo mux under the filter: stderr" "$(cat mux.denied.err)" ""

# afifo tee and latest under the filter: the same bytes to every output and
# the same exit status of the last run as without it.
for w in plain denied; do
  wrap=env
  [[ $w == denied ]] && wrap=$DENY
  seq 1 50000 | "$wrap" "$AFIFO" tee -o "tee.$w.1" -o "tee.$w.2" 2>"tee.$w.err"
  echo $? >"tee.$w.code"
  printf 'one\ntwo\nthree\n' | "$wrap" "$AFIFO" latest --exit-on-eof - -- sh -c 'echo "$1" >>latest.'"$w"'; exit 3' sh {} 2>"latest.$w.err"
  echo $? >"latest.$w.code"
done
eq "afifo tee under the filter: exit code" "$(cat tee.denied.code)" "$(cat tee.plain.code)"
eq "afifo tee: exit code" "$(cat tee.plain.code)" 0
eq "afifo tee under the filter: first output" "$(md5sum <tee.denied.1)" "$(seq 1 50000 | md5sum)"
eq "afifo tee under the filter: second output" "$(md5sum <tee.denied.2)" "$(seq 1 50000 | md5sum)"
eq "afifo latest under the filter: exit status of the last run" "$(cat latest.denied.code)" \
  "$(cat latest.plain.code)"
eq "afifo latest: exit status of the last run" "$(cat latest.plain.code)" 3
eq "afifo latest under the filter: the last record ran" "$(tail -n 1 latest.denied)" "three"

# afifo tee with pipes on both sides under the filter: stdin a pipe, the
# outputs two FIFOs and a stdout pipe, so the bytes go out by tee(2)
# (zero-copy fan-out) while an output's pipe has room, by write(2) where
# not. 2 MB, more than the pipes hold. Each reader gets every byte once,
# in order. Each process is bounded by timeout: a FIFO reader's open waits
# for ever if afifo never opens that FIFO.
mkfifo teep_a teep_b
seq 1 300000 >teep.want
for w in plain denied; do
  wrap=env
  [[ $w == denied ]] && wrap=$DENY
  timeout 60 cat teep_a >"teep.$w.a" &
  ra=$!
  timeout 60 cat teep_b >"teep.$w.b" &
  rb=$!
  PIDS+=("$ra" "$rb")
  seq 1 300000 | timeout 60 "$wrap" "$AFIFO" tee -o teep_a -o teep_b -o - 2>"teep.$w.err" |
    cat >"teep.$w.out"
  echo "${PIPESTATUS[1]}" >"teep.$w.code"
  wait "$ra" "$rb"
done
eq "afifo tee to pipes under the filter: exit code" "$(cat teep.denied.code)" \
  "$(cat teep.plain.code)"
eq "afifo tee to pipes: exit code" "$(cat teep.plain.code)" 0
for o in a b out; do
  eq "afifo tee to pipes under the filter: bytes of reader $o" "$(md5sum <"teep.denied.$o")" \
    "$(md5sum <teep.want)"
done
eq "afifo tee to pipes under the filter: stderr" "$(cat teep.denied.err)" ""

# kernel.io_uring_disabled=2, as an admin sets it.
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: kernel.io_uring_disabled case needs root"
elif [[ ! -w $SYSCTL ]]; then
  echo "SKIP: this kernel has no writable kernel.io_uring_disabled"
else
  OLD_SYSCTL=$(cat "$SYSCTL")
  if echo 2 >"$SYSCTL" 2>/dev/null; then
    run_cases io_uring_disabled=2 env
    AIO_BACKEND=uring "$ACAT" small >/dev/null 2>err
    eq "forced uring with io_uring_disabled=2 says why" "$(cat err)" \
      "acat: io_uring is disabled on this host (kernel.io_uring_disabled=2)"
  else
    echo "SKIP: cannot write kernel.io_uring_disabled (a container's read-only /proc/sys?)"
  fi
  echo "$OLD_SYSCTL" >"$SYSCTL"
  OLD_SYSCTL=
fi

echo "backend_e2e: $PASSES passed, $FAILS failed"
[[ $FAILS -eq 0 ]]
