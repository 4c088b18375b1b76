#!/usr/bin/env bash
# Following by name (-F, --follow=name [--retry]) in the cases where tail
# recovers, and tail's warnings: each scenario runs with GNU tail and with
# acat side by side (each in a directory of its own, at the same time), and
# their stdout, stderr (program name aside) and exit codes must be equal.
# Steps wait for what they need (polls of up to 20 s), never for a fixed
# time; a last settle of 2.5 s lets a poll (tail's and acat's: 1 s) be seen.
# Usage: acat_follow_name_e2e.sh path/to/acat
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACAT=$(readlink -f "$1")
T=$(mktemp -d "$PWD/acat-name.XXXXXX" 2>/dev/null || mktemp -d /tmp/acat-name.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"

# wait_for FILE TEXT: FILE holds TEXT within 20 s (else the scenario fails).
wait_for() {
  local i
  for ((i = 0; i < 400; i++)); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1" >>steps.log
  return 1
}
# ended_in PID: the process ends by itself within 20 s (else it is killed).
ended_in() {
  local i
  for ((i = 0; i < 400; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -9 "$1" 2>/dev/null
  return 1
}

# as_prog TAILDIR ACATDIR: both stderrs with the program name as PROG.
# tail's "cannot watch 'X': No such file or directory" is dropped: tail
# adds its inotify watches by name only after its first pass is out, so a
# step that acts on seeing that output (a rename, a removal) can beat it
# when the machine is loaded; it then recovers as acat does, which opens
# and watches every name before it prints. (Seen in CI on renamed_and_
# recreated: tail's stderr had that line first, the rest as acat's.)
as_prog() {
  sed -i "s/^tail: /PROG: /; /^PROG: cannot watch '.*': No such file or directory\$/d" "$1/err"
  sed -i 's/^acat: /PROG: /' "$2/err"
}

# scenario NAME SETUP STEPS ARGS...: in a fresh directory, SETUP (shell
# code), then the tool with ARGS in the background (stdout to out, stderr
# to err), then STEPS (shell code using $tool_pid and wait_for), then, if
# the tool still runs, a settle and SIGTERM. Run for tail and for acat at
# once; then compared.
scenario() {
  local name=$1 setup=$2 steps=$3
  shift 3
  local tool dir
  local -A pid
  for tool in tail acat; do
    dir="$T/$name.$tool"
    mkdir -p "$dir"
    (
      cd "$dir" || exit 1
      eval "$setup"
      local bin=tail
      [[ $tool == acat ]] && bin=$ACAT
      "$bin" "$@" >out 2>err &
      tool_pid=$!
      eval "$steps"
      if kill -0 $tool_pid 2>/dev/null; then
        sleep 2.5
        kill -TERM $tool_pid
      fi
      wait $tool_pid
      echo $? >rc
    ) &
    pid[$tool]=$!
    PIDS+=("${pid[$tool]}")
  done
  wait "${pid[tail]}" "${pid[acat]}"
  local g="$T/$name.tail" a="$T/$name.acat"
  as_prog "$g" "$a"
  if [[ -s $g/steps.log || -s $a/steps.log ]]; then
    fail "$name: a step timed out: $(cat "$g/steps.log" "$a/steps.log" 2>/dev/null)"
  fi
  eq "$name: exit code" "$(cat "$a/rc")" "$(cat "$g/rc")"
  if cmp -s "$g/out" "$a/out"; then ok; else
    fail "$name: stdout '$(cat "$a/out")', tail's '$(cat "$g/out")'"
  fi
  # Where GNU's own messages vary from run to run: checked apart.
  [[ -n ${OWN_STDERR:-} ]] && return
  if cmp -s "$g/err" "$a/err"; then ok; else
    fail "$name: stderr '$(cat "$a/err")', tail's '$(cat "$g/err")'"
  fi
}

# A name whose directory does not exist yet: it is waited for.
scenario missing_parent ":" \
  'wait_for err "cannot open"; mkdir nodir; echo hello >nodir/x; wait_for out hello' \
  -F nodir/x
# A dangling symbolic link: followed once its target appears, and after.
scenario dangling_symlink "ln -s target link" \
  'wait_for err "cannot open"; echo one >target; wait_for out one; echo two >>target; wait_for out two' \
  -F link
# The directory removed and made again: the parent chain is watched, not
# the old directory's inode. Whether "directory containing watched file
# was removed" and "inotify cannot be used, reverting to polling" come
# between the two messages depends, for tail as for acat (which follows
# tail's logic), on whether the directory's own removal is read before the
# step makes it again; coreutils' tail-2/inotify-dir-recreate.sh expects
# them. Seen both ways for each, in CI pinned to one CPU and here. So the
# rest of the messages are compared.
OWN_STDERR=1 scenario dir_recreated "mkdir dd; echo a >dd/f" \
  'wait_for out a; rm -r dd; wait_for err inaccessible; mkdir dd; echo b >dd/f; wait_for out b' \
  -F dd/f
without_polling_switch() {
  grep -v -e '^PROG: directory containing watched file was removed$' \
    -e '^PROG: inotify cannot be used, reverting to polling$' "$1"
}
eq "dir_recreated: stderr as tail's, whether or not either switched to polling" \
  "$(without_polling_switch "$T/dir_recreated.acat/err")" \
  "$(without_polling_switch "$T/dir_recreated.tail/err")"
eq "dir_recreated: what is said either way" "$(without_polling_switch "$T/dir_recreated.acat/err")" \
  "PROG: 'dd/f' has become inaccessible: No such file or directory
PROG: 'dd/f' has appeared;  following new file"
# slept_again PID CMD...: runs CMD, then waits until PID has woken and
# gone back to sleep (its voluntary context switches went up): it has seen
# what CMD did. Both tools wait in one syscall when idle.
slept_again() {
  local pid=$1 n0 i
  shift
  n0=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$pid/status")
  "$@"
  for ((i = 0; i < 400; i++)); do
    (($(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$pid/status") > n0)) && return 0
    sleep 0.05
  done
  echo "timed out waiting for $pid to see: $*" >>steps.log
  return 1
}
# -F of a directory: tail warns and keeps watching the name. The directory
# replaced by a file while the tool is stopped (so it sees both at once):
# "has become accessible". Which of tail's two words comes depends on
# whether it saw the name gone in between; hence the two cases.
scenario directory_then_file "mkdir d4" \
  'wait_for err "cannot follow"; kill -STOP $tool_pid; rmdir d4; echo c >d4;
   kill -CONT $tool_pid; wait_for out c' \
  -F d4
# ... and the directory removed, seen gone, then a file made there: tail
# forgets the name was untailable: "has appeared;  following new file".
scenario directory_gone_then_file "mkdir d4" \
  'wait_for err "cannot follow"; slept_again $tool_pid rmdir d4; echo c >d4; wait_for out c' \
  -F d4
# A followed file replaced by a directory under -F, then by a file again.
# tail's messages here vary from run to run (seen: "has become accessible"
# or "has appeared" at the end, and once "cannot watch 'f'"): stdout and
# exit codes are compared, and acat's messages checked on their own.
OWN_STDERR=1 scenario file_then_directory "echo a >f" \
  'wait_for out a; rm f; wait_for err inaccessible; mkdir f; wait_for err untailable;
   kill -STOP $tool_pid; rmdir f; echo b >f; kill -CONT $tool_pid; wait_for out b' \
  -F f
eq "file_then_directory: acat's messages" "$(cat "$T/file_then_directory.acat/err")" \
  "PROG: 'f' has become inaccessible: No such file or directory
PROG: 'f' has been replaced with an untailable file
PROG: 'f' has become accessible"
# --follow=name without --retry: the only file removed ends it, exit 1.
scenario only_file_removed "echo x >f5" \
  'wait_for out x; rm f5; ended_in $tool_pid' \
  --follow=name f5
# -f of a directory: given up, "no files remaining", exit 1.
scenario follow_directory "mkdir d" 'ended_in $tool_pid' -f d
scenario follow_missing ":" 'ended_in $tool_pid' -f missing
# Rotation by rename under -F still says what tail says.
scenario renamed_and_recreated "echo a >log" \
  'wait_for out a; mv log log.1; wait_for err inaccessible; echo b >log; wait_for out b; echo c >>log; wait_for out c' \
  -F log

# --follow=name without --retry: a name removed while another file is still
# followed is not given up. When it is made again tail says "has appeared"
# and follows it (coreutils' tail-2/assert.sh); once no file is left, "no
# files remaining", exit 1. A name missing at the start is never looked for.
scenario name_removed_and_made_again "touch a foo" \
  'wait_for out "==> foo <=="; echo x >a; wait_for out x; rm foo; wait_for err "foo: No such";
   echo ok >foo; wait_for out ok; echo m >missing; echo ok2 >>foo; wait_for out ok2;
   rm a; wait_for err "a: No such"; rm foo; ended_in $tool_pid' \
  --follow=name a foo missing
# Every operand is opened before the first is printed, as with tail (whose
# stdout is flushed only after the next open): a script that has seen the
# first file's tail may remove the second and still find it followed (the
# race of coreutils' tail-2/assert.sh on a loaded machine). Made certain:
# stdout is a full pipe, so nothing can be printed until it is read; by
# then the second file must be open. Then it is removed and made again.
opened_before_printing() { # opened_before_printing TOOL: prints stderr, then "rc N"
  python3 - "$@" <<'PY'
import fcntl, os, subprocess, sys, time
tool = sys.argv[1:]
for n in ("a", "foo"):
    open(n, "w").close()
with open("a", "w") as f:
    f.write("x\n")
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
try:
    while True:
        os.write(w, b"." * 4096)
except BlockingIOError:
    pass
fcntl.fcntl(w, fcntl.F_SETFL, 0)
err = open("err", "w")
p = subprocess.Popen(tool + ["--follow=name", "a", "foo"], stdout=w, stderr=err)
os.close(w)
def holds(name):
    try:
        return any(os.readlink(f"/proc/{p.pid}/fd/{fd}").endswith("/" + name)
                   for fd in os.listdir(f"/proc/{p.pid}/fd"))
    except OSError:
        return False
deadline = time.time() + 20
while not holds("foo") and time.time() < deadline:
    time.sleep(0.05)
print("opened foo while its output waited:", holds("foo"))
os.remove("foo")
out = b""
fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
def read_until(text):
    global out
    deadline = time.time() + 20
    while text not in out and time.time() < deadline:
        try:
            out += os.read(r, 1 << 16)
        except BlockingIOError:
            time.sleep(0.05)
    return text in out
def err_has(text):
    deadline = time.time() + 20
    while time.time() < deadline:
        if text in open("err").read():
            return True
        time.sleep(0.05)
    return False
print("first pass printed:", read_until(b"x\n"))
print("removal seen:", err_has("No such file"))
with open("foo", "w") as f:
    f.write("again\n")
print("followed again:", read_until(b"again\n"))
p.terminate()
p.wait()
print("stdout:", out.lstrip(b".").decode())
PY
}
for tool in tail acat; do
  mkdir -p "$T/opened_first.$tool"
  bin=tail
  [[ $tool == acat ]] && bin=$ACAT
  (cd "$T/opened_first.$tool" && opened_before_printing "$bin" >result)
done
as_prog "$T/opened_first.tail" "$T/opened_first.acat"
eq "opened before printing: acat as tail" "$(cat "$T/opened_first.acat/result")" \
  "$(cat "$T/opened_first.tail/result")"
# tail also says "cannot watch 'foo'" here, always (as_prog drops it): the
# name was gone before it added its watches; acat watches the open file.
eq "opened before printing: stderr as tail's" "$(cat "$T/opened_first.acat/err")" \
  "$(cat "$T/opened_first.tail/err")"
eq "opened before printing: the second file was open" \
  "$(grep -c 'opened foo while its output waited: True' "$T/opened_first.acat/result")" 1

# --follow=descriptor --retry: a file missing at the start is waited for,
# then followed by descriptor from its first byte, its truncation seen
# (coreutils' tail-2/retry.sh). Both poll the name once a second.
scenario descriptor_retry_appears ":" \
  'wait_for err "cannot open"; echo "first line" >missing; wait_for out "first line";
   echo second >missing; wait_for err truncated; wait_for out second' \
  --follow=descriptor --retry missing
# ... and a directory appearing there instead ends it: "no files remaining".
scenario descriptor_retry_directory ":" \
  'wait_for err "cannot open"; mkdir missing; ended_in $tool_pid' \
  --follow=descriptor --retry missing
# Without --retry, a file missing at the start is not looked for again.
scenario descriptor_missing_not_retried "touch existing" \
  'wait_for err "cannot open"; echo Y >missing; echo X >existing; wait_for out X' \
  --follow=descriptor missing existing

# --pid's end: tail exits 0 from its inotify loop whatever it reported, and
# with the first pass's status where it polls (a failed first open by
# descriptor, a symbolic link among the names). pid_case NAME SETUP STEPS
# ARGS: ARGS (a string, evaluated) may use $sleeper, the process --pid
# waits for; STEPS end by killing it.
pid_case() {
  local name=$1 setup=$2 steps=$3 args=$4 tool
  for tool in tail acat; do
    mkdir -p "$T/$name.$tool"
    (
      cd "$T/$name.$tool" || exit 1
      eval "$setup"
      sleep 120 &
      sleeper=$!
      bin=tail
      [[ $tool == acat ]] && bin=$ACAT
      eval "\"\$bin\" $args" >out 2>err &
      tool_pid=$!
      eval "$steps"
      kill $sleeper
      ended_in $tool_pid || echo "did not end" >>steps.log
      wait $tool_pid
      echo $? >rc
    ) &
    PIDS+=($!)
  done
  wait
  local g="$T/$name.tail" a="$T/$name.acat"
  as_prog "$g" "$a"
  [[ -s $g/steps.log || -s $a/steps.log ]] &&
    fail "$name: a step timed out: $(cat "$g/steps.log" "$a/steps.log" 2>/dev/null)"
  eq "$name: exit code" "$(cat "$a/rc")" "$(cat "$g/rc")"
  eq "$name: stdout" "$(cat "$a/out")" "$(cat "$g/out")"
  eq "$name: stderr" "$(cat "$a/err")" "$(cat "$g/err")"
}
pid_case pid_after_name_removed "touch a foo" \
  'wait_for out "==> foo <=="; rm foo; wait_for err "No such"' '--follow=name --pid=$sleeper a foo'
pid_case pid_after_missing_by_name "touch a" \
  'wait_for err "cannot open"' '--follow=name --pid=$sleeper a missing'
pid_case pid_after_missing_by_descriptor "touch a" \
  'wait_for err "cannot open"' '-f --pid=$sleeper missing a'
pid_case pid_with_symlink_after_missing "touch a; ln -s a link" \
  'wait_for err "cannot open"' '--follow=name --pid=$sleeper link missing'
pid_case pid_clean "touch a" 'wait_for out "==> a <=="' '-v -f --pid=$sleeper a'

# tail's warnings for options that do nothing here.
scenario retry_without_follow "echo x >f" 'ended_in $tool_pid' --retry f
scenario pid_without_follow "echo x >f" 'ended_in $tool_pid' --pid=1 f
scenario retry_by_descriptor "echo x >f" 'wait_for err warning' -f --retry f

# ---- no inotify to be had: follow by polling, with tail's warning
# A user namespace of our own where inotify instances are limited to 0
# (user.max_inotify_instances is per namespace): nothing else is touched.
if unshare -Ur sh -c 'echo 0 >/proc/sys/user/max_inotify_instances' 2>/dev/null; then
  # The tool runs inside the namespace; the test drives it from outside.
  cat >"$T/noinotify" <<'EOF'
#!/bin/sh
echo 0 >/proc/sys/user/max_inotify_instances || exit 99
exec "$@"
EOF
  chmod +x "$T/noinotify"
  # One run with no inotify instance, one with no inotify watch, for
  # -f and for -F.
  cat >"$T/nowatches" <<'EOF'
#!/bin/sh
echo 0 >/proc/sys/user/max_inotify_watches || exit 99
exec "$@"
EOF
  chmod +x "$T/nowatches"
  # polling_case NAME LABEL LIMIT SETUP STEPS ARGS...: as scenario, but
  # the tool runs in the namespace with inotify taken away by LIMIT (a
  # script above), and STEPS (using $p) ends it: it is killed or ends by
  # itself. Run for tail and for acat at once; then compared as LABEL.
  polling_case() {
    local name=$1 label=$2 limit=$3 setup=$4 steps=$5
    shift 5
    local tool dir g a
    for tool in tail acat; do
      dir="$T/$name.$tool"
      mkdir -p "$dir"
      (
        cd "$dir" || exit 1
        eval "$setup"
        bin=tail
        [[ $tool == acat ]] && bin=$ACAT
        unshare -Ur "$T/$limit" "$bin" "$@" >out 2>err &
        p=$!
        eval "$steps"
        wait $p
        echo $? >rc
      ) &
      PIDS+=($!)
    done
    wait
    g="$T/$name.tail" a="$T/$name.acat"
    as_prog "$g" "$a"
    [[ -s $g/steps.log || -s $a/steps.log ]] && fail "$label: a step timed out"
    eq "$label: exit code" "$(cat "$a/rc")" "$(cat "$g/rc")"
    eq "$label: stdout" "$(cat "$a/out")" "$(cat "$g/out")"
    eq "$label: stderr" "$(cat "$a/err")" "$(cat "$g/err")"
  }
  # Appended lines and a truncation seen, with each limit, for -f and -F.
  for limit in noinotify nowatches; do
    for how in -f -F; do
      polling_case "polling.$limit$how" "polling ($limit $how)" $limit 'echo one >f' \
        'wait_for out one; echo two >>f; wait_for out two
         : >f # truncated
         echo three >>f; wait_for out three; kill -TERM $p' \
        $how f
    done
  done
  # Polling, the last name removed ends it with "no files remaining" as with
  # inotify, but tail's polling loop then exits with the first pass's
  # status (0 here), not 1.
  polling_case polling.removed "polling, names removed" noinotify 'echo one >a; echo two >b' \
    'wait_for out two; rm a; wait_for err "a: No such"; rm b
     ended_in $p || echo "did not end" >>steps.log' \
    --follow=name a b
else
  echo "skipped: polling without inotify (cannot make a user namespace here)"
fi

# ---- no descriptor left for inotify (RLIMIT_NOFILE): polling, not an exit
# The smallest descriptor limit (soft = hard: acat raises its soft limit to
# the hard one) at which acat can open the file is one at which inotify
# cannot be had; how many that is depends on the backend's own descriptors.
# Not under the sanitizers: their runtime needs descriptors of its own (UBSan
# opens a pipe to check memory it reads) and reports false errors when the
# limit leaves it none.
if grep -q -e __asan_init -e __ubsan_handle "$ACAT"; then
  echo "skipped: fd limit case (a sanitizer build: its runtime needs descriptors of its own)"
elif command -v prlimit >/dev/null; then
  dir="$T/fdlimit"
  mkdir -p "$dir"
  (
    cd "$dir" || exit 1
    found=0
    for n in $(seq 4 16); do
      echo one >f
      prlimit --nofile=$n:$n "$ACAT" -f f >out 2>err &
      p=$!
      # Until it printed the file, or gave up on it (ended).
      for ((i = 0; i < 400; i++)); do
        grep -q one out 2>/dev/null && break
        kill -0 $p 2>/dev/null || break
        sleep 0.05
      done
      if grep -q one out; then
        found=$n
        echo two >>f
        wait_for out two
        kill -TERM $p
        wait $p
        echo $? >rc
        break
      fi
      ended_in $p
    done
    echo $found >limit
  )
  if [[ $(cat "$dir/limit") == 0 ]]; then
    fail "fd limit: acat opened the file at no limit from 4 to 16"
  else
    eq "fd limit $(cat "$dir/limit"): warning" "$(cat "$dir/err")" \
      "acat: inotify cannot be used, reverting to polling: Too many open files"
    eq "fd limit: followed by polling" "$(cat "$dir/out")" "one
two"
    eq "fd limit: ended by SIGTERM" "$(cat "$dir/rc")" 143
  fi
else
  echo "skipped: fd limit case (no prlimit)"
fi

echo "acat follow-name e2e: $PASSES passed, $FAILS failed"
[[ $FAILS -eq 0 ]]
