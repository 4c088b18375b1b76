#!/usr/bin/env bash
# acat in tail's and cat's place in scripts: the cases where it differed
# from GNU (issue 17), each run with GNU and with acat on the same input and
# compared: bytes, exit codes, and whether a script goes on after a signal.
# Usage: acat_gnu_e2e.sh path/to/acat
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACAT=$(readlink -f "$1")
T=$(mktemp -d "$PWD/acat-gnu.XXXXXX" 2>/dev/null || mktemp -d /tmp/acat-gnu.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"
# both DESC ARGS...: tail (or cat, for CMD=cat) and acat with ARGS give the
# same stdout and exit code.
both() {
  local desc=$1
  shift
  "${GNU:-tail}" "$@" >out.g 2>/dev/null
  local rg=$?
  "$ACAT" "$@" >out.a 2>/dev/null
  local ra=$?
  eq "$desc: exit code" "$ra" "$rg"
  if cmp -s out.g out.a; then ok; else fail "$desc: stdout differs from ${GNU:-tail}'s"; fi
}
# ended_within PID SECONDS: the process ended by itself in time (else killed).
ended_within() {
  local i
  for ((i = 0; i < $2 * 100; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.01
  done
  kill -9 "$1" 2>/dev/null
  return 1
}

seq 1 10 >ten

# ---- a tail's first pass stops at the size seen at the start
# `acat -n 1 f >> f` grew f until the disk was full; tail writes once.
for args in "-n 1" "-c 3" "-n +9" "-c +18"; do
  cp ten self
  # shellcheck disable=SC2086
  "$ACAT" $args self >>self &
  pid=$!
  if ended_within $pid 10; then ok; else fail "acat $args self >> self did not end"; fi
  cp ten self.g
  # shellcheck disable=SC2086
  tail $args self.g >>self.g
  # GNU's +N copies to EOF, which on a self-append it finds at once; in
  # all four cases the bytes added are those of one pass.
  eq "acat $args self >> self: size" "$(stat -c %s self)" "$(stat -c %s self.g)"
done
# A live log: a writer appends all the time; -n 5 gives 5 lines, not more.
seq 1 100000 >live
(while :; do echo appended; done >>live) &
writer=$!
PIDS+=("$writer")
sleep 0.1
# A size taken while a write crosses a page boundary ends in part of a line
# (ext4 raises i_size page by page): then the 5th line is that part, with no
# newline, so the lines are counted as tail counts them, not by wc -l.
eq "-n 5 of a live log" "$("$ACAT" -n 5 live | awk 'END {print NR}')" 5
eq "-c 10 of a live log" "$("$ACAT" -c 10 live | wc -c)" 10
kill $writer
wait $writer 2>/dev/null

# ---- files whose size lies: read as streams, as tail does
for f in /sys/devices/system/cpu/online /sys/class/net/lo/address /proc/version; do
  [[ -r $f ]] || continue
  both "-n 1 $f" -n 1 "$f"
  both "-c 4 $f" -c 4 "$f"
done

# ---- -f of a device keeps running (the `tail -f /dev/null` idiom)
for how in "-f /dev/null" "-F /dev/null" "-f"; do
  # shellcheck disable=SC2086
  "$ACAT" $how </dev/null >/dev/null &
  pid=$!
  PIDS+=("$pid")
  if ended_within $pid 1; then fail "acat $how ended by itself"; else ok; fi
done
timeout 5 "$ACAT" -f /dev/null >&- 2>err
eq "-f /dev/null with stdout closed: exit" $? 1
eq "-f /dev/null with stdout closed: message" "$(cat err)" \
  "acat: standard output: Bad file descriptor"
"$ACAT" /dev/null >&- 2>/dev/null
eq "cat of /dev/null to a closed stdout: exit as cat's" $? "$(cat /dev/null >&- 2>/dev/null; echo $?)"

# ---- --help and --version report write errors
for opt in --help --version; do
  "$ACAT" $opt >/dev/full 2>err
  eq "$opt >/dev/full: exit" $? 1
  eq "$opt >/dev/full: message" "$(cat err)" "acat: write error: No space left on device"
done

# ---- the same file named twice under -f: each append once, as tail
: >twice
"$ACAT" -f twice twice >out.a 2>&1 &
pid=$!
PIDS+=("$pid")
tail -f twice twice >out.g 2>&1 &
gpid=$!
PIDS+=("$gpid")
sleep 0.5
echo appended >>twice
sleep 1.5
kill $pid $gpid
wait $pid $gpid 2>/dev/null
eq "-f twice twice: appended lines" "$(grep -c appended out.a)" 1
if cmp -s out.g out.a; then ok; else fail "-f twice twice: output differs from tail's"; fi

# ---- option syntax as getopt reads it, compared with tail
both "-n 5 -n 3 (last wins)" -n 5 -n 3 ten
both "-n 5 -c 3 (last wins)" -n 5 -c 3 ten
both "--lin=2 (abbreviation)" --lin=2 ten
both "--byt 4" --byt 4 ten
both "-3 (obsolete -NUM)" -3 ten
both "+8 (obsolete +NUM)" +8 ten
both "-2c" -2c ten
both "-3 with two files" -3 ten ten
both "-n ' 3' (leading blank)" -n " 3" ten
both "-n ''" -n "" ten
for n in 1k 1K 1m 1M 1kB 1KB 1KiB 1MB 1b 1E 1g 1t 1B 1c 1e 2x; do
  both "-n $n" -n "$n" ten
  both "-c $n" -c "$n" ten
done
both "--bogus" --bogus ten
both "--follow=bogus" --follow=bogus ten
GNU=cat both "cat -u" -u ten
GNU=cat both "cat --bogus" --bogus ten

# ---- a script interrupted in acat does not go on, as with tail
# The shell runs `acat -f; echo next` in its own process group (setsid) with
# SIGINT at its default; Ctrl-C is SIGINT to the whole group. A child that
# exits 130 instead of dying of SIGINT lets the shell run `next`.
for tool in tail "$ACAT"; do
  : >sig.$$
  setsid env --default-signal=INT bash -c "\"$tool\" -f sig.$$; echo next" >script.out 2>&1 &
  spid=$!
  PIDS+=("$spid")
  sleep 0.5
  kill -INT -- -$spid
  wait $spid
  rc=$?
  eq "$(basename "$tool") -f in a script, then SIGINT: the script's status" $rc 130
  eq "$(basename "$tool") -f in a script, then SIGINT: next did not run" "$(cat script.out)" ""
done

# ---- the output pipe is grown for a bulk copy only: a follow must not
# spend the user's pipe quota (fs.pipe-user-pages-soft)
seq 1 100000 >bulk
pipe_size() { # pipe_size ARGS...: stdout pipe size while acat ARGS runs
  python3 - "$ACAT" "$@" <<'PY'
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
p = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.DEVNULL)
os.close(w)
time.sleep(0.3)  # acat has set its output up (a bulk copy then waits on the full pipe)
size = fcntl.fcntl(r, 1032)  # F_GETPIPE_SZ
if "-f" in sys.argv:
    p.terminate()
while True:
    chunk = os.read(r, 1 << 20)
    if not chunk:
        break
p.wait()
print(size)
PY
}
eq "a bulk copy to a pipe grows it (to 1 MiB, within pipe-max-size)" "$(pipe_size bulk)" \
  "$(( $(cat /proc/sys/fs/pipe-max-size) < 1048576 ? $(cat /proc/sys/fs/pipe-max-size) : 1048576 ))"
eq "a follow leaves its pipe at the default size" "$(pipe_size -f bulk)" 65536

# ---- names in messages quoted as cat and tail quote them
# Missing files (and a directory) with names that need quoting: stderr must
# be GNU's byte for byte, with only the program name changed, in the C
# locale (é is escaped) and in C.UTF-8 (it is not).
mkdir "dir'x" $'dir\nnl'
names=(plain "a b" "it's" 'it'"'"'s $x' $'a\nb' $'a\tb' "a:b" "a?b" "#a" "a#" "~a" "{" "a\\b"
  $'x\xffy' $'caf\xc3\xa9' $'\xc2\x85' $'it\'s\n' $'\nit\'s' "it's é" "a=b" "" "-" "dir'x" $'dir\nnl')
same_stderr() { # same_stderr GNU-TOOL ARGS...: acat's stderr and exit code are GNU's
  local tool=$1
  shift
  "$tool" "$@" </dev/null >/dev/null 2>err.g
  local rg=$?
  "$ACAT" "$@" </dev/null >/dev/null 2>err.a
  local ra=$?
  sed -i "s/^acat: /$tool: /" err.a
  eq "$tool $*: exit code" "$ra" "$rg"
  if cmp -s err.g err.a; then ok; else
    fail "$tool $(printf '%q ' "$@"): stderr '$(cat err.a)', GNU '$(cat err.g)'"
  fi
}
for loc in C C.UTF-8; do
  for n in "${names[@]}"; do
    [[ $n == - ]] && continue
    LC_ALL=$loc same_stderr cat -- "$n"
    LC_ALL=$loc same_stderr tail -n 1 -- "$n"
  done
done
# stdin: cat calls it "-", tail "standard input".
cat - <"dir'x" 2>err.g >/dev/null
"$ACAT" - <"dir'x" 2>err.a >/dev/null
eq "cat - < dir: stderr" "$(sed 's/^acat: /cat: /' err.a)" "$(cat err.g)"
tail -n 1 - <"dir'x" 2>err.g >/dev/null
"$ACAT" -n 1 - <"dir'x" 2>err.a >/dev/null
eq "tail -n 1 - < dir: stderr" "$(sed 's/^acat: /tail: /' err.a)" "$(cat err.g)"

# ---- counts as coreutils 9.1's tail reads them, messages included
# (a suffix alone, blanks, '+' as the number's sign, D, no R/Q, too big is
# an error; the value quoted ‘so’ in UTF-8 and 'so' in C; no "Try" line).
seq 1 3000 >many
counts=(' +5' '+ 5' ' 5' $'\n5' $'\v5' k kB b +k -k ' -5' '5 ' 0x10 010 5KiB 5kiB 5Ki 1e3
  --5 ++5 +-5 -+5 - + '' 99999999999999999999 99999999999999999999k 99999999999999999999x
  5bB 5B 5EiB 16E 17E 1Q 5kD 2bD "it's" $'a\nb' 'a\b' $'caf\xc3\xa9')
for loc in C C.UTF-8; do
  for v in "${counts[@]}"; do
    for opt in -n -c; do
      LC_ALL=$loc tail "$opt" "$v" many >out.g 2>err.g
      rg=$?
      LC_ALL=$loc "$ACAT" "$opt" "$v" many >out.a 2>err.a
      ra=$?
      sed -i 's/^acat: /tail: /' err.a
      d="$opt $(printf %q "$v") ($loc)"
      eq "$d: exit code" "$ra" "$rg"
      if cmp -s out.g out.a && cmp -s err.g err.a; then ok; else
        fail "$d: output or message differs: '$(head -c 200 err.a)' vs '$(head -c 200 err.g)'"
      fi
    done
  done
done
tail -99999999999999999999 many >out.g 2>err.g
rg=$?
"$ACAT" -99999999999999999999 many >out.a 2>err.a
ra=$?
eq "obsolete -NUM too big: exit code" "$ra" "$rg"
eq "obsolete -NUM too big: message" "$(sed 's/^acat: /tail: /' err.a)" "$(cat err.g)"

# ---- --pid as tail reads it: 0 to INT_MAX, blanks and '+' before, 0 is
# no process (follows on), too big says so; a gone process ends the follow.
true &
dead=$!
wait $dead
for v in "$dead" " $dead" "+$dead" " +$dead" "+ $dead" 2147483648 99999999999999999999 5k -1 '' "$dead " -0; do
  timeout 20 tail -f --pid="$v" ten >out.g 2>err.g
  rg=$?
  timeout 20 "$ACAT" -f --pid="$v" ten >out.a 2>err.a
  ra=$?
  d="--pid=$(printf %q "$v")"
  eq "$d: exit code" "$ra" "$rg"
  if cmp -s out.g out.a && cmp -s err.g <(sed 's/^acat: /tail: /' err.a); then ok; else
    fail "$d: output or message differs: '$(cat err.a)' vs '$(cat err.g)'"
  fi
done
# 0: no process to wait for, so both still follow when stopped.
timeout 1 tail -f --pid=0 ten >/dev/null 2>&1
rg=$?
timeout 1 "$ACAT" -f --pid=0 ten >/dev/null 2>&1
eq "--pid=0 follows on (as tail)" $? "$rg"

# ---- the last lines of a pipe in bounded memory
# 40 lines of 1 MiB on a pipe, -n 1000: all of it must be held (tail holds
# it too), but once: joined and cut copies peaked at 2.7 times the data.
peak_rss() { # peak_rss CMD...: "KIB MD5" of CMD -n 1000 fed the lines
  python3 - "$@" <<'PY'
import hashlib, os, subprocess, sys, threading
p = subprocess.Popen(sys.argv[1:] + ["-n", "1000"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def feed():
    line = b"x" * ((1 << 20) - 1) + b"\n"
    for _ in range(40):
        p.stdin.write(line)
    p.stdin.close()
threading.Thread(target=feed).start()
digest = hashlib.md5(p.stdout.read()).hexdigest()
_, status, usage = os.wait4(p.pid, 0)
print(usage.ru_maxrss, digest, os.waitstatus_to_exitcode(status))
PY
}
read -r kib_a md5_a rc_a < <(peak_rss "$ACAT")
read -r _ md5_g rc_g < <(peak_rss tail)
eq "-n 1000 of 40 MiB in 40 lines on a pipe: bytes as tail" "$md5_a" "$md5_g"
eq "-n 1000 of 40 MiB in 40 lines on a pipe: exit code" "$rc_a" "$rc_g"
# 40 MiB held, plus the program and its buffers (ASan's shadow included).
if ((kib_a <= 40 * 1024 + 48 * 1024)); then ok; else
  fail "-n 1000 of 40 MiB on a pipe peaked at $kib_a KiB (bound: 88 MiB)"
fi

# ---- obsolete options with a unit and no number mean 10 units (tail.pl's
# obs-l, obs-b, obs-plus-x1, obs-plus-x2); compared with tail: stdout,
# stderr (program name normalised) and exit code.
# same_gnu TOOL LABEL DESC ARGS...: acat ARGS gives TOOL ARGS's stdout,
# stderr (program name normalised) and exit code; LABEL prefixes DESC.
same_gnu() {
  local tool=$1 label=$2 desc=$3
  shift 3
  timeout 20 "$tool" "$@" </dev/null >out.g 2>err.g
  local rg=$?
  timeout 20 "$ACAT" "$@" </dev/null >out.a 2>err.a
  local ra=$?
  sed -i "s/^acat: /$tool: /; s/acat --help/$tool --help/" err.a
  eq "$label$desc: exit code" "$ra" "$rg"
  if cmp -s out.g out.a; then ok; else fail "$label$desc: stdout differs from $tool's"; fi
  if cmp -s err.g err.a; then ok; else
    fail "$label$desc: stderr '$(head -c 200 err.a)', $tool's '$(head -c 200 err.g)'"
  fi
}
same_all() { same_gnu tail "" "$@"; } # same_all DESC ARGS...
printf 'x\n%.0s' $(seq 2561) >obs.b
printf 'x%s' yyyyyyyyyyz >obs.c
{ printf 'x\n'; printf 'y\n%.0s' $(seq 10); printf z; } >obs.l
same_all "obsolete -l means -n 10" -l obs.l
same_all "obsolete -b means -c 5120" -b obs.b
same_all "obsolete +c means -c +10" +c obs.c
same_all "obsolete +l means -n +10" +l obs.l
same_all "obsolete -l before -- FILE" -l -- obs.l
same_all "obsolete -l with two files is an option" -l obs.l obs.b
# tail.pl err-4: the message alone, no "Try --help" line.
same_all "-2cX: option used in invalid context" -2cX

# ---- stdin closed (`<&-`): tail's and cat's messages, in their order, and
# their exit codes (coreutils' tail-2/follow-stdin.sh checks `tail -f - <&-`).
# acat holds a closed fd 0 with /dev/null (so the ring cannot take it), but
# says what tail and cat say of the closed descriptor.
same_closed_stdin() { # same_closed_stdin GNU-TOOL ARGS...
  local tool=$1
  shift
  timeout 20 "$tool" "$@" <&- >out.g 2>err.g
  local rg=$?
  timeout 20 "$ACAT" "$@" <&- >out.a 2>err.a
  local ra=$?
  sed -i "s/^acat: /$tool: /" err.a
  eq "$tool $* <&-: exit code" "$ra" "$rg"
  if cmp -s out.g out.a; then ok; else
    fail "$tool $* <&-: stdout '$(cat out.a)', GNU's '$(cat out.g)'"
  fi
  if cmp -s err.g err.a; then ok; else
    fail "$tool $* <&-: stderr '$(cat err.a)', GNU's '$(cat err.g)'"
  fi
}
same_closed_stdin tail -n 10 -f -
same_closed_stdin tail -n 10 -f
same_closed_stdin tail -c 2 -f -
same_closed_stdin tail -n 10 -
same_closed_stdin tail -n 10
same_closed_stdin tail -c 3 -
same_closed_stdin tail -n +2 -
same_closed_stdin tail -v -n 10 -
same_closed_stdin tail -n 10 - -
same_closed_stdin tail -n 10 ten -
same_closed_stdin tail -n 0 -
same_closed_stdin tail -n 10 -f --pid=1 -
same_closed_stdin cat
same_closed_stdin cat -
same_closed_stdin cat - -
same_closed_stdin cat ten -
same_closed_stdin cat ten
# A name is needed to follow by name: "-" is refused before anything is read.
same_all "-F - is refused" -n 10 -F -
same_all "--follow=name with no operand is refused" -n 10 --follow=name
# tail reads nothing when it would print nothing (-n 0, no follow).
same_all "-n 0 of a missing file" -n 0 missing
same_all "-c 0 of a missing file" -c 0 missing

# ---- -z, --zero-terminated: NUL ends a line (tail's -z), for the counts
# from the end and from the start, of files and of pipes; the ==> <==
# headers stay newline-terminated, as GNU's.
printf 'a\0b\0c\nd\0e' >z.nofinal
printf 'x\0y\0' >z.final
printf 'one\ntwo\n' >z.none
for f in z.nofinal z.final z.none; do
  for n in 0 1 2 10 +1 +2 +3 +9; do
    same_all "-z -n $n $f" -z -n "$n" "$f"
  done
  same_all "--zero-terminated -c 3 $f" --zero-terminated -c 3 "$f"
done
same_all "-z -n 1 of two files (headers)" -z -n 1 z.nofinal z.final
same_all "-z -n +2 -v" -z -n +2 -v z.final
same_all "--zero (abbreviated) -n 1" --zero -n 1 z.nofinal
same_all "-zn1 (bundled)" -zn1 z.nofinal
for n in 1 2 +2; do
  tail -z -n "$n" <z.nofinal >out.g 2>&1
  "$ACAT" -z -n "$n" <z.nofinal >out.a 2>&1
  if cmp -s out.g out.a; then ok; else fail "-z -n $n of a pipe: differs from tail's"; fi
  # -f of a pipe: its end ends the follow, the first pass counted by NUL.
  { printf 'a\0b\0'; sleep 0.2; printf 'c\0d'; } | timeout 20 tail -z -n "$n" -f >out.g 2>&1
  { printf 'a\0b\0'; sleep 0.2; printf 'c\0d'; } | timeout 20 "$ACAT" -z -n "$n" -f >out.a 2>&1
  if cmp -s out.g out.a; then ok; else fail "-z -n $n -f of a pipe: differs from tail's"; fi
done
# -f of a file: what is appended goes out as it is (the delimiter changes
# only the first pass); --pid ends both once the writer is gone.
for n in 0 1 +2; do
  for tool in tail "$ACAT"; do
    printf 'a\0b\0c' >z.live
    (sleep 0.5; printf 'd\0e\nf' >>z.live) &
    timeout 20 "$tool" -z -n "$n" -f --pid=$! z.live >"out.$(basename "$tool")" 2>&1
  done
  if cmp -s out.tail out.acat; then ok; else fail "-z -n $n -f of a file: differs from tail's"; fi
done

# ---- -s, --sleep-interval=N and --max-unchanged-stats=N: accepted and
# refused as tail does (stdout, stderr and exit code, in C and C.UTF-8).
for loc in C C.UTF-8; do
  for v in 0.5 1 0 .5 5. ' 1' +1 ' -0' 1e2 1e-400 0x1p-1074 0x10 inf infinity 1e308 \
    x -1 1e400 1e-310 nan 1e 0x '' 1s 1,5 '1 ' "it's"; do
    LC_ALL=$loc same_all "-s $(printf %q "$v") ($loc)" -s "$v" -n 1 ten
    LC_ALL=$loc same_all "--sleep-interval=$(printf %q "$v") ($loc)" --sleep-interval="$v" -n 1 ten
  done
  for v in 5 0 ' 5' +5 010 18446744073709551615 \
    x -1 ' -1' -0 '' '5 ' 0x5 1k 1.5 18446744073709551616 99999999999999999999x + "it's"; do
    LC_ALL=$loc same_all "--max-unchanged-stats=$(printf %q "$v") ($loc)" \
      --max-unchanged-stats="$v" -n 1 ten
  done
done
same_all "--sleep (abbreviated)" --sleep=2 -n 1 ten
same_all "--max (abbreviated)" --max=3 -n 1 ten
same_all "--sl (abbreviated --sleep-interval)" --sl=2 -n 1 ten
# --s is ambiguous in both (acat's list of candidates is longer).
eq "--s is ambiguous: exit code" "$("$ACAT" --s -n 1 ten >/dev/null 2>&1; echo $?)" 1
same_all "-s with no value" -n 1 ten -s
same_all "-s: the last one wins" -s x -s 1 -n 1 ten
same_all "-s after -s 1 -f: refused at once" -s 1 -n 1 ten -s x
# -s is the period where acat polls: --follow=descriptor --retry of a file
# missing at the start looks for it every -s seconds. With -s 0.1 the file,
# created half a second later, is found and printed; --pid (a process that
# ends after 3 s) then ends the follow. With tail's default of 1 s and a
# 60 s -s both print it only after their next look, so -s 60 would not.
for tool in tail "$ACAT"; do
  rm -f late
  (sleep 0.5; echo late-line >late; sleep 2.5) &
  timeout 20 "$tool" -s 0.1 --follow=descriptor --retry --pid=$! late >"out.$(basename "$tool")" 2>"err.$(basename "$tool")"
  echo $? >>"out.$(basename "$tool")"
done
sed -i 's/^acat: /tail: /' err.acat
if cmp -s out.tail out.acat && cmp -s err.tail err.acat; then ok; else
  fail "-s 0.1 --follow=descriptor --retry: '$(cat out.acat err.acat)' vs tail's '$(cat out.tail err.tail)'"
fi
grep -q late-line out.acat && ok || fail "-s 0.1 --retry: the late file was not printed"
# -s is the period of that look. With -s 0.1 the file is printed while acat
# still runs; with -s 3600 it is not printed 2 s after it appeared (it
# would be with the default of 1 s), only at --pid's end (a final look at
# every input; acat watches the process through a pidfd, at once).
sleep_check() { # sleep_check SECONDS: sets $printed_early and $rc
  rm -f late
  sleep 60 &
  local holder=$! i
  PIDS+=("$holder")
  "$ACAT" -s "$1" --follow=descriptor --retry --pid=$holder late >out.a 2>/dev/null &
  local pid=$!
  PIDS+=("$pid")
  sleep 0.3
  echo late-line >late
  printed_early=no
  if [[ $1 == 3600 ]]; then
    sleep 2
    grep -q late-line out.a && printed_early=yes
  else
    for ((i = 0; i < 2000; i++)); do
      grep -q late-line out.a && { printed_early=yes; break; }
      sleep 0.01
    done
  fi
  kill $holder
  ended_within $pid 20
  wait $pid
  rc=$?
}
sleep_check 0.1
eq "-s 0.1 --retry: a late file is printed while following" "$printed_early" yes
# 1, as tail (compared above): when polling, the first pass's status.
eq "-s 0.1 --retry: exit code at --pid's end" "$rc" 1
sleep_check 3600
eq "-s 3600 --retry: not looked for again within 2 s" "$printed_early" no
eq "-s 3600 --retry: printed at --pid's end" "$(cat out.a)" late-line
eq "-s 3600 --retry: exit code at --pid's end" "$rc" 1

# ---- cat's display options, side by side with GNU cat: stdout, stderr
# and exit code, on awkward input (every byte value, CR LF, empty lines,
# no final newline, empty files) and across files (numbering, squeezing and
# a CR before an LF in the next file go on from one file to the next).
same_cat() { same_gnu cat "cat " "$@"; } # same_cat DESC ARGS...
python3 -c "import sys; sys.stdout.buffer.write(bytes(range(256)) + b'\n\n\n\tx\t\r\n\r\n\n\n\r\rend\r')" >d.all
printf '\n\n' >d.blank2
printf 'no final' >d.nofinal
printf '\n\nx\n\n\n' >d.blanks
: >d.empty
printf 'a\r' >d.cr
printf '\nb\n' >d.lf
seq 1 1000005 >d.big # line numbers past 6 digits
for opts in -A -b -e -E -t -T --number --squeeze-blank --show-nonprinting \
  "--number --squeeze-blank" "-b --number" "--number -b" -bE "-A --squeeze-blank -b" -ET \
  "--show-n -E" "--show-all" "--number-nonblank" "--show-ends" "--show-tabs" "-u -T"; do
  for files in "d.all d.blank2" "d.blank2 d.blank2 d.nofinal d.blanks" "d.nofinal d.blank2" \
    "d.blanks d.empty d.blanks" "d.cr d.lf" "d.cr d.nofinal" "d.cr d.empty" \
    "d.blank2 d.all d.blanks d.nofinal d.cr" "d.blanks missing d.blanks"; do
    # shellcheck disable=SC2086
    same_cat "$opts $files" $opts $files
  done
done
same_cat "--number of 1000005 lines" --number d.big
same_cat "--number of stdin" --number - <d.blanks
same_cat "-A of a pipe" -A - <d.all
# Neither cat nor tail takes a display option with a count or -f: refused.
eq "--number -n 2 is refused: exit code" "$("$ACAT" --number -n 2 d.blanks >/dev/null 2>&1; echo $?)" 1
eq "-E -f is refused: exit code" "$("$ACAT" -E -f d.blanks >/dev/null 2>&1; echo $?)" 1
# -b as the only option before one file is tail's obsolete -b (-c 5120),
# as tail reads it (checked above); cat's -b is --number-nonblank there.
same_all "-b FILE is tail's obsolete -b" -b d.all

echo "acat gnu e2e: $PASSES passed, $FAILS failed"
[[ $FAILS -eq 0 ]]
