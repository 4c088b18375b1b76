#!/usr/bin/env bash
# End-to-end tests of acat: the real binary against GNU cat and tail on a
# corpus of files, pipes, FIFOs and devices, plus following, rotation,
# --pid, --idle-timeout, closed stdout, signals and thread counts.
# Asserts bytes, exit codes and thread counts, never timings: waits are
# polls of an outcome with a generous deadline that only bounds a failure.
# Usage: acat_e2e.sh path/to/acat
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACAT=$(readlink -f "$1")
# In the working directory (CTest's: the build tree), not /tmp: on tmpfs
# io_uring hands every file read to an io-wq worker, which the thread-count
# checks would rightly count.
T=$(mktemp -d "$PWD/acat-e2e.XXXXXX" 2>/dev/null || mktemp -d /tmp/acat-e2e.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"
# same DESC FILE_A FILE_B: the two outputs are byte-identical.
same() { if cmp -s "$2" "$3"; then ok; else fail "$1: output differs"; cmp "$2" "$3" | head -2; fi; }
# until_true DESC CMD...: polls CMD until it succeeds (deadline 20 s).
until_true() {
  local desc=$1 i
  shift
  for ((i = 0; i < 2000; i++)); do
    "$@" && return 0
    sleep 0.01
  done
  fail "$desc: timed out waiting"
  return 1
}
has() { grep -qF -- "$2" "$1" 2>/dev/null; }
# The process has `path` open (it reached the point of waiting on it).
has_open() {
  local f
  for f in /proc/"$1"/fd/*; do [[ $(readlink "$f" 2>/dev/null) == "$2" ]] && return 0; done
  return 1
}
threads() { ls /proc/"$1"/task | wc -l; }
# wait_rc PID: its exit status, killing it (and failing) after 20 s.
wait_rc() {
  local pid=$1 i
  for ((i = 0; i < 2000; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "pid $pid did not end"
    kill -9 "$pid"
  fi
  wait "$pid"
}
# Starts acat in the background with SIGINT/SIGTERM at their defaults (a
# script's background job would have SIGINT ignored, and acat keeps an
# ignored signal ignored, as coreutils do).
start() { env --default-signal=INT,TERM "$ACAT" "$@" & }

# ---- corpus
: >empty
printf 'no trailing newline' >nonl
head -c 200000 /dev/urandom >bin
seq 1 20000 >lines
head -c 4000000 /dev/urandom >big
printf 'a\nb\n\n\nc\n' >blank
mkdir dir

# ---- plain concatenation: byte-identical to cat, same exit status
for args in "empty" "nonl" "bin" "lines" "big" "blank" "empty nonl bin lines" "/dev/null" \
  "nonl /dev/null blank" "lines lines"; do
  # shellcheck disable=SC2086
  "$ACAT" $args >out.a 2>err.a; ra=$?
  # shellcheck disable=SC2086
  cat $args >out.c 2>err.c; rc=$?
  same "cat $args" out.a out.c
  eq "cat $args exit" $ra $rc
done
"$ACAT" <big >out.a && same "stdin redirected from a file" out.a big
# To a regular file acat copies in the kernel (copy_file_range); where the
# kernel says no (an O_APPEND stdout, a file in /proc), it reads and writes.
printf 'start\n' >out.a; cp out.a out.c
"$ACAT" lines nonl >>out.a; cat lines nonl >>out.c
same "appended to a file" out.a out.c
"$ACAT" /proc/version lines >out.a; cat /proc/version lines >out.c
same "a /proc file to a file" out.a out.c
"$ACAT" -n 3 lines nonl >out.a; tail -n 3 lines nonl >out.c
same "headers and tails to a file" out.a out.c
# cat's refusal to copy a file onto its own end (it would grow until the
# disk is full); the other operands are still copied.
cp lines self; cp lines self.c
"$ACAT" nonl self nonl >>self 2>err.a; ra=$?
cat nonl self.c nonl >>self.c 2>err.c; rc=$?
same "input file is output file: the file" self self.c
eq "input file is output file: exit" $ra $rc
eq "input file is output file: message" "$(cat err.a)" "acat: self: input file is output file"
"$ACAT" self >self; eq "a file emptied by the shell onto itself" "$?:$(wc -c <self)" "0:0"
cat big | "$ACAT" >out.a && same "stdin from a pipe" out.a big
cat nonl | "$ACAT" lines - blank >out.a
cat lines nonl blank >out.c
same "- among files" out.a out.c
(read -r _; "$ACAT") <lines >out.a
(read -r _; cat) <lines >out.c
same "stdin continues from the shell's offset" out.a out.c
("$ACAT"; cat) <lines >out.a
(cat; cat) <lines >out.c
same "stdin is left at the offset acat read to" out.a out.c
("$ACAT" -n 3; cat) <lines >out.a
(tail -n 3; cat) <lines >out.c
same "stdin is left where tail would leave it" out.a out.c
"$ACAT" /dev/zero | head -c 3000000 >out.a
head -c 3000000 /dev/zero >out.c
same "a character device" out.a out.c
"$ACAT" /dev/urandom | head -c 100000 | wc -c >out.a
eq "/dev/urandom is read" "$(cat out.a)" 100000

# ---- FIFOs: a slow writer, no false EOF before it comes, end at its EOF
mkfifo fifo
"$ACAT" fifo >out.a &
reader=$!
(for i in 1 2 3 4 5; do echo "line $i"; sleep 0.05; done) >fifo
wait $reader; eq "fifo exit" $? 0
seq 1 5 | sed 's/^/line /' >out.c
same "fifo with a slow writer" out.a out.c
"$ACAT" nonl fifo blank >out.a &
reader=$!
head -c 1000000 big >fifo
wait $reader
{ cat nonl; head -c 1000000 big; cat blank; } >out.c
same "fifo between files" out.a out.c

# ---- tail -n / -c, with and without +, files and pipes
for n in 0 1 3 10 +0 +1 +2 +15000 19999 20000 50000 1K +1K; do
  for f in lines nonl empty blank bin; do
    "$ACAT" -n "$n" $f >out.a; tail -n "$n" $f >out.c; same "-n $n $f" out.a out.c
    "$ACAT" -c "$n" $f >out.a; tail -c "$n" $f >out.c; same "-c $n $f" out.a out.c
    cat $f | "$ACAT" -n "$n" >out.a; cat $f | tail -n "$n" >out.c; same "pipe -n $n $f" out.a out.c
    cat $f | "$ACAT" -c "$n" >out.a; cat $f | tail -c "$n" >out.c; same "pipe -c $n $f" out.a out.c
  done
done
"$ACAT" --lines=5 big >out.a; tail --lines=5 big >out.c; same "--lines=5 big" out.a out.c
"$ACAT" --bytes=+1000 big >out.a; tail --bytes=+1000 big >out.c; same "--bytes=+1000 big" out.a out.c
"$ACAT" -n 2 lines nonl empty blank >out.a; tail -n 2 lines nonl empty blank >out.c
same "headers for several files" out.a out.c
"$ACAT" -q -n 2 lines blank >out.a; tail -q -n 2 lines blank >out.c; same "-q" out.a out.c
"$ACAT" -v -n 2 lines >out.a; tail -v -n 2 lines >out.c; same "-v" out.a out.c
cat lines | "$ACAT" -n 3 nonl - >out.a; cat lines | tail -n 3 nonl - >out.c
same "stdin header" out.a out.c
"$ACAT" -n 4 fifo >out.a &
reader=$!
seq 1 100000 >fifo
wait $reader
seq 99997 100000 >out.c
same "-n 4 of a fifo" out.a out.c

# ---- errors: report, go on with the others, exit 1
"$ACAT" nonl missing dir blank >out.a 2>err.a; ra=$?
cat nonl blank >out.c
same "operands after errors are printed" out.a out.c
eq "error exit" $ra 1
eq "error messages" "$(cat err.a)" "acat: missing: No such file or directory
acat: dir: Is a directory"
if [[ $(id -u) -eq 0 ]]; then
  echo "skipped: permission-denied case (running as root, which can read anything)"
else
  printf 'secret\n' >locked; chmod 000 locked
  "$ACAT" locked nonl >out.a 2>err.a; ra=$?
  eq "permission error exit" $ra 1
  eq "permission error message" "$(cat err.a)" "acat: locked: Permission denied"
  same "after a permission error" out.a nonl
fi

# Write errors end acat with one message, as cat; a closed stdout is not
# taken over by an fd acat opens itself.
"$ACAT" nonl >/dev/full 2>err.a; eq "write error exit" $? 1
eq "write error message" "$(cat err.a)" "acat: write error: No space left on device"
"$ACAT" nonl 2>err.a >&-; eq "closed fd 1 exit" $? 1
eq "closed fd 1 message (as cat's)" "$(cat err.a)" "acat: standard output: Bad file descriptor"

# ---- usage: bad options exit 1 (as tail and cat) with the reason and a hint; --help/--version exit 0
for bad in "--bogus" "--follow=sideways" "--idle-timeout=soon"; do
  # shellcheck disable=SC2086
  "$ACAT" $bad nonl >out.a 2>err.a; ra=$?
  eq "usage error $bad" $ra 1
  eq "usage error $bad hint" "$(tail -n 1 err.a)" "Try 'acat --help' for more information."
  eq "usage error $bad stdout" "$(wc -c <out.a)" 0
done
# A bad count or PID: one line and exit 1, no hint (as tail).
for bad in "-n abc" "-c 5q" "--pid=abc" "-n"; do
  # shellcheck disable=SC2086
  "$ACAT" $bad nonl >out.a 2>err.a; ra=$?
  eq "bad value $bad" $ra 1
  eq "bad value $bad: one line" "$(wc -l <err.a)" 1
  eq "bad value $bad stdout" "$(wc -c <out.a)" 0
done
"$ACAT" --help >out.a; eq "--help exit" $? 0
grep -q -- "--idle-timeout" out.a && ok || fail "--help lists the options"
"$ACAT" --version >out.a; eq "--version exit" $? 0
grep -q '^acat ' out.a && ok || fail "--version says acat"

# ---- closed stdout: ends at once, quietly, like cat (SIGPIPE when it is default)
set -o pipefail
"$ACAT" big 2>err.a | head -c 10 >/dev/null; ra=$?
cat big | head -c 10 >/dev/null; rc=$?
eq "closed stdout exit (as cat)" $ra $rc
eq "closed stdout is quiet" "$(wc -c <err.a)" 0
set +o pipefail
# Blocked on a silent FIFO (a writer holds it open, says nothing).
sleep 60 >fifo &
holder=$!; PIDS+=("$holder")
("$ACAT" -f fifo 2>err.a; echo $? >rc.a) | true
eq "closed stdout while blocked on a silent fifo" "$(cat rc.a)" 141
eq "... quietly" "$(wc -c <err.a)" 0
("$ACAT" fifo 2>err.a; echo $? >rc.a) | true
eq "closed stdout, fifo without -f" "$(cat rc.a)" 141
kill $holder; wait $holder 2>/dev/null

# ---- SIGINT in the middle of a file-to-file copy: the copy is no ring
# operation, yet the signal ends it within a chunk, not at the end.
truncate -s 8G sparse
start sparse >copy.out
pid=$!
until_true "the copy began" test -s copy.out
kill -INT $pid
wait_rc $pid; ra=$?
eq "SIGINT during a copy: exit" $ra 130
size=$(stat -c %s copy.out)
if ((size < 8 << 30)); then ok; else fail "SIGINT during a copy: it copied all $size bytes"; fi
rm -f sparse copy.out

# ---- SIGINT / SIGTERM while blocked on a FIFO with no writer: 130 / 143
for sig in INT TERM; do
  start -f fifo >out.a
  pid=$!
  until_true "acat opened the fifo" has_open $pid "$T/fifo"
  eq "one thread while blocked on a fifo" "$(threads $pid)" 1
  kill -$sig $pid
  wait_rc $pid; ra=$?
  eq "SIG$sig exit" $ra "$([[ $sig == INT ]] && echo 130 || echo 143)"
done

# ---- follow a file: appends, truncation, thread count
printf 'one\n' >log
start -f log fifo >out.a 2>err.a
pid=$!; PIDS+=("$pid")
until_true "first pass" has out.a "one"
echo two >>log
until_true "an append is followed" has out.a "two"
eq "threads while following a file and a fifo" "$(threads $pid)" 1
: >log
echo three >>log
until_true "after truncation" has out.a "three"
until_true "truncation is reported" has err.a "acat: log: file truncated"
# The FIFO too, across writers coming and going.
echo "w1" >fifo
echo "w2" >fifo
until_true "fifo writers one after another" has out.a "w2"
eq "threads after fifo writers left" "$(threads $pid)" 1
kill -TERM $pid; wait_rc $pid; eq "followed then TERM" $? 143
printf '==> log <==\none\ntwo\nthree\n\n==> fifo <==\nw1\nw2\n' >out.c
same "follow output with headers" out.a out.c

# ---- follow one file (its read is linked behind the inotify read): a burst
# bigger than the read buffer, many small appends, then a truncation, arrive
# whole and once. Twice: stdout a file (written through the shared output),
# and stdout a pipe (acat's own short path, the only writer of stdout).
follow_one_file() {
  local sink=$1 reader=""
  head -c 100000 /dev/urandom >solo
  rm -f out.a outpipe
  if [[ $sink == pipe ]]; then
    mkfifo outpipe
    cat outpipe >out.a &
    reader=$!
    start -f solo >outpipe 2>err.a
  else
    start -f solo >out.a 2>err.a
  fi
  pid=$!; PIDS+=("$pid")
  until_true "one file ($sink): first pass" cmp -s solo out.a
  head -c 300000 /dev/urandom >>solo
  until_true "one file ($sink): a burst of 300000 bytes" cmp -s solo out.a
  for i in $(seq 1 200); do echo "line $i" >>solo; done
  until_true "one file ($sink): 200 appends" has out.a "line 200"
  cp solo want
  : >solo
  echo "after the cut" >>solo
  echo "after the cut" >>want
  until_true "one file ($sink): after truncation" has out.a "after the cut"
  until_true "one file ($sink): truncation reported" has err.a "acat: solo: file truncated"
  eq "threads while following one file ($sink)" "$(threads $pid)" 1
  kill -TERM $pid; wait_rc $pid; eq "one file ($sink) then TERM" $? 143
  [[ -n $reader ]] && wait "$reader"
  same "one file ($sink): every byte once, in order" want out.a
}
follow_one_file file
follow_one_file pipe

# ---- -F: a file that does not exist yet, then rename- and delete-rotation
rm -f rot rot.1
start -F rot >out.a 2>err.a
pid=$!; PIDS+=("$pid")
until_true "-F reported the missing file" has err.a "cannot open 'rot' for reading: No such file or directory"
echo a >rot
until_true "-F: the file appeared" has out.a "a"
mv rot rot.1; echo b >rot
until_true "-F: rename rotation" has out.a "b"
rm rot; echo c >rot
until_true "-F: delete rotation" has out.a "c"
echo d >>rot
until_true "-F: appends to the new file" has out.a "d"
eq "threads under -F" "$(threads $pid)" 1
kill -INT $pid; wait_rc $pid; eq "-F then INT" $? 130
printf 'a\nb\nc\nd\n' >out.c
same "-F rotation output" out.a out.c

# Nothing left to follow: a missing file without --retry. (A name in a
# directory that does not exist yet is waited for under -F, as tail does:
# acat_follow_name_e2e.sh.)
timeout 20 "$ACAT" -f missing >out.a 2>err.a; eq "-f of a missing file exit" $? 1
eq "-f of a missing file message" "$(cat err.a)" "acat: cannot open 'missing' for reading: No such file or directory
acat: no files remaining"

# ---- --pid: the end of that process ends acat (0), after a last catch-up
printf 'x\n' >plog
sleep 60 &
target=$!; PIDS+=("$target")
"$ACAT" -f --pid=$target plog >out.a &
pid=$!; PIDS+=("$pid")
until_true "--pid first pass" has out.a "x"
echo y >>plog
until_true "--pid follows" has out.a "y"
kill $target; wait $target 2>/dev/null
wait_rc $pid; eq "--pid exit" $? 0
printf 'x\ny\n' >out.c
same "--pid output" out.a out.c
"$ACAT" -f --pid=$target plog >out.a; eq "--pid of a process already gone" $? 0
same "--pid already gone output" out.a out.c

# ---- --idle-timeout: an io_uring timeout ends a quiet follow (0)
"$ACAT" -f --idle-timeout=0.3 plog fifo >out.a; eq "--idle-timeout exit" $? 0
printf '==> plog <==\nx\ny\n' >out.c
same "--idle-timeout output" out.a out.c

# ---- --prefix: whole lines, never mixed between inputs
mkfifo f1 f2
start -f --prefix f1 f2 >out.a
pid=$!; PIDS+=("$pid")
until_true "acat opened both fifos" has_open $pid "$T/f2"
exec 3>f1 4>f2
printf 'aaa' >&3
printf 'bbb\n' >&4
until_true "--prefix: a whole line" has out.a "f2: bbb"
printf 'AAA\n' >&3
until_true "--prefix: the split line, joined" has out.a "f1: aaaAAA"
exec 3>&- 4>&-
kill -TERM $pid; wait_rc $pid
printf 'f2: bbb\nf1: aaaAAA\n' >out.c
same "--prefix output" out.a out.c
"$ACAT" --prefix nonl blank >out.a
printf 'nonl: no trailing newline\nblank: a\nblank: b\nblank: \nblank: \nblank: c\n' >out.c
same "--prefix of files" out.a out.c

echo "acat e2e: $PASSES passed, $FAILS failed"
[[ $FAILS -eq 0 ]]
