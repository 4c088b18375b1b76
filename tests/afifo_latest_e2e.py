#!/usr/bin/env python3
"""afifo latest end to end, with real processes: records arriving faster
than the command runs (only the newest run completes, every earlier one was
terminated), no zombie, no fd leaked, --exit-on-eof's status, --grace's
SIGKILL, SIGTERM/SIGINT to afifo stopping the running child, one thread.

    python3 afifo_latest_e2e.py path/to/afifo [case...]

Every wait is bounded by a timeout; nothing asserts a duration."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # importing the lib leaves no __pycache__ in the source tree
from afifo_e2e_lib import (TIMEOUT, Failure, cases_of, check, has_open, run_cases, tasks_of,
                           wait_until)

AFIFO = None


def children_of(pid):
    """[(pid, state)] of the processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(d), fields[0]))
    return out


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def exists(pid):
    return os.path.exists("/proc/%d" % pid)


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="afifo-latest-")
        self.procs = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def fifo(self, name):
        p = self.path(name)
        os.mkfifo(p)
        return p

    def latest(self, args, stdin=subprocess.DEVNULL):
        p = subprocess.Popen([AFIFO, "latest"] + args, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(p)
        p.outs = {"out": [], "err": []}
        for name, stream in (("out", p.stdout), ("err", p.stderr)):
            t = threading.Thread(target=lambda n=name, s=stream: p.outs[n].append(s.read()),
                                 daemon=True)
            t.start()
            p.outs[name + "_thread"] = t
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["rm", "-rf", self.dir])


def finish(p, what, timeout=TIMEOUT):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise Failure(what + ": did not end")
    p.outs["out_thread"].join(timeout)
    p.outs["err_thread"].join(timeout)
    return (p.returncode, b"".join(p.outs["out"]).decode(errors="replace"),
            b"".join(p.outs["err"]).decode(errors="replace"))


# A run that logs its start, its termination (the trap) and its end; the
# sleep is in the background so the trap runs at once.
def logged_run(log, sleep):
    return ["sh", "-c",
            'echo "start $1" >> %s; trap \'echo "term $1" >> %s; exit 143\' TERM; '
            'sleep %s & wait; echo "done $1" >> %s; exit 7' % (log, log, sleep, log),
            "sh", "{}"]


def case_only_the_newest_run_completes(env):
    fifo, log = env.fifo("in"), env.path("log")
    p = env.latest(["--exit-on-eof", fifo, "--"] + logged_run(log, 3))
    w = open(fifo, "w")
    zombies_seen, children_seen = [], []
    n = 6
    for i in range(n):
        w.write("rec%d\n" % i)
        w.flush()
        wait_until(lambda: "start rec%d" % i in lines(log), "run %d to start" % i)
        kids = children_of(p.pid)
        children_seen.append(len(kids))
        zombies_seen += [k for k in kids if k[1] == "Z"]
    threads, iowq = tasks_of(p.pid)
    w.close()
    code, out, err = finish(p, "latest")
    got = lines(log)
    check(code == 7, "--exit-on-eof: the last run's status (7), got %s %r" % (code, err))
    for i in range(n - 1):
        check("term rec%d" % i in got, "run %d was terminated: %r" % (i, got))
        check("done rec%d" % i not in got, "run %d did not complete: %r" % (i, got))
    check(got.count("done rec%d" % (n - 1)) == 1, "the newest run completed: %r" % got)
    check(all(c == 1 for c in children_seen), "one child at a time: %r" % children_seen)
    check(zombies_seen == [], "no zombie: %r" % zombies_seen)
    check(threads == 1 and iowq == 0, "1 thread, no io-wq: %d %d" % (threads, iowq))


def case_skipped_records_never_run(env):
    fifo, log = env.fifo("in"), env.path("log")
    p = env.latest(["--exit-on-eof", fifo, "--"] + logged_run(log, 3))
    w = open(fifo, "w")
    w.write("first\n")
    w.flush()
    wait_until(lambda: "start first" in lines(log), "the first run")
    # Many records in one go while a run is on: only the last of them runs.
    w.write("".join("mid%d\n" % i for i in range(1000)) + "last\n")
    w.close()
    code, _, err = finish(p, "latest")
    starts = [l for l in lines(log) if l.startswith("start")]
    check(code == 7, "exit 7: %s %r" % (code, err))
    check(starts == ["start first", "start last"], "records in between skipped: %r" % starts)


def case_no_fd_leaked_and_no_zombie_after_many_runs(env):
    fifo, log = env.fifo("in"), env.path("log")
    p = env.latest([fifo, "--", "sh", "-c", 'echo "done $1" >> %s' % log, "sh", "{}"])
    w = open(fifo, "w")
    wait_until(lambda: has_open(p.pid, fifo), "afifo to open its input")
    before = fd_count(p.pid)
    slow = ["sh", "-c", "sleep 5"]
    for i in range(20):
        w.write("r%d\n" % i)
        w.flush()
        wait_until(lambda: "done r%d" % i in lines(log), "run %d" % i)
    wait_until(lambda: children_of(p.pid) == [], "the last child to be reaped")
    after = fd_count(p.pid)
    check(after == before, "fds before %d, after 20 runs %d" % (before, after))
    os.kill(p.pid, signal.SIGTERM)
    code, _, err = finish(p, "latest")
    check(code == -signal.SIGTERM, "died of SIGTERM: %s %r" % (code, err))


def case_fds_and_children_after_terminated_runs(env):
    fifo, log = env.fifo("in"), env.path("log")
    p = env.latest([fifo, "--"] + logged_run(log, 30))
    w = open(fifo, "w")
    wait_until(lambda: has_open(p.pid, fifo), "afifo to open its input")
    before = fd_count(p.pid)
    for i in range(10):
        w.write("r%d\n" % i)
        w.flush()
        wait_until(lambda: "start r%d" % i in lines(log), "run %d" % i)
    for i in range(9):
        check("term r%d" % i in lines(log), "run %d terminated" % i)
    kids = children_of(p.pid)
    check(len(kids) == 1 and kids[0][1] != "Z", "one live child, no zombie: %r" % kids)
    # Its record is written and its stdin pipe closed: its pidfd remains.
    check(fd_count(p.pid) == before + 1,
          "the running child's pidfd is all that is added: %d -> %d"
          % (before, fd_count(p.pid)))
    os.kill(p.pid, signal.SIGTERM)
    code, _, _ = finish(p, "latest")
    check(code == -signal.SIGTERM, "died of SIGTERM: %s" % code)


def case_sigterm_and_sigint_stop_the_running_child(env):
    for sig in (signal.SIGTERM, signal.SIGINT):
        fifo, pidfile = env.fifo("in%d" % sig), env.path("pid%d" % sig)
        p = env.latest([fifo, "--", "sh", "-c", "echo $$ > %s; exec sleep 60" % pidfile])
        w = open(fifo, "w")
        w.write("go\n")
        w.flush()
        wait_until(lambda: len(lines(pidfile)) == 1, "the child to start")
        child = int(lines(pidfile)[0])
        check(exists(child), "the child runs")
        os.kill(p.pid, sig)
        code, _, err = finish(p, "latest after signal %d" % sig)
        check(code == -sig, "died of signal %d: %s %r" % (sig, code, err))
        # Reaped by afifo before it died: gone, not a zombie left to init.
        check(not exists(child), "the child is gone (and reaped) once afifo has ended")
        w.close()


def case_grace_then_sigkill(env):
    fifo, pids = env.fifo("in"), env.path("pids")
    stubborn = ["sh", "-c", "trap '' TERM; echo $$ >> %s; while :; do sleep 1; done" % pids]
    p = env.latest(["--grace=0.2", fifo, "--"] + stubborn)
    w = open(fifo, "w")
    w.write("a\n")
    w.flush()
    wait_until(lambda: len(lines(pids)) == 1, "the first run")
    first = int(lines(pids)[0])
    w.write("b\n")
    w.flush()
    wait_until(lambda: len(lines(pids)) == 2, "the second run, after the first was killed")
    check(not exists(first), "the run that ignored SIGTERM was killed and reaped")
    os.kill(p.pid, signal.SIGTERM)
    code, _, _ = finish(p, "latest")
    second = int(lines(pids)[1])
    check(code == -signal.SIGTERM and not exists(second), "SIGTERM: the stubborn child killed too")
    w.close()


def case_record_on_stdin_or_in_place_of_braces(env):
    out = env.path("out")
    p = subprocess.run([AFIFO, "latest", "--exit-on-eof", "-", "--", "sh", "-c", "cat > " + out],
                       input=b"one line\n", capture_output=True, timeout=TIMEOUT)
    check(p.returncode == 0, "exit 0: %r" % p.stderr)
    check(open(out, "rb").read() == b"one line\n", "the record on stdin, with its newline")
    p = subprocess.run([AFIFO, "latest", "--exit-on-eof", "-", "--", "printf", "<%s|%s>", "{}",
                        "x{}y"], input=b"rec\n", capture_output=True, timeout=TIMEOUT)
    check(p.stdout == b"<rec|xrecy>", "{} replaced by the record, no newline: %r" % p.stdout)
    p = subprocess.run([AFIFO, "latest", "--exit-on-eof", "--framing=null", "-", "--", "printf",
                        "<%s>", "{}"], input=b"a b\0c d", capture_output=True, timeout=TIMEOUT)
    # "a b" is whole before the end of the input is seen, so it may run (and
    # end) before "c d" is read: either way the last one runs, last.
    check(p.stdout in (b"<c d>", b"<a b><c d>"),
          "null framing; the last record without its end: %r" % p.stdout)


def case_exit_on_eof_gives_the_last_status(env):
    def run(stdin, *cmd):
        return subprocess.run([AFIFO, "latest", "--exit-on-eof", "-", "--"] + list(cmd),
                              input=stdin, capture_output=True, timeout=TIMEOUT).returncode
    check(run(b"x\n", "sh", "-c", "exit 5") == 5, "exit 5 from the last run")
    check(run(b"x\n", "sh", "-c", "kill -9 $$") == 137, "a run killed by SIGKILL: 137")
    check(run(b"", "sh", "-c", "exit 5") == 0, "no record, no run: 0")
    p = subprocess.run([AFIFO, "latest", "-", "--", "sh", "-c", "exit 5"], input=b"x\n",
                       capture_output=True, timeout=TIMEOUT)
    check(p.returncode == 0, "without --exit-on-eof a run's status is not ours")


def case_usage_and_errors(env):
    def run(args, stdin=b""):
        return subprocess.run([AFIFO, "latest"] + args, input=stdin, capture_output=True,
                              timeout=TIMEOUT)
    for args in (["-"], ["--grace=soon", "-", "--", "true"], ["--framing=word", "-", "--", "true"],
                 []):
        p = run(args)
        check(p.returncode == 2, "%s: usage error exits 2, got %d" % (args, p.returncode))
    missing = env.path("nope")
    p = run([missing, "--", "true"])
    check(p.returncode == 1 and p.stderr.decode() == "afifo: %s: No such file or directory\n"
          % missing, "a missing input: one line, exit 1: %r" % p.stderr)
    p = run(["-", "--", env.path("no-such-command")], stdin=b"x\n")
    check(p.returncode == 1 and "No such file or directory" in p.stderr.decode(),
          "a command that cannot run: exit 1: %r" % p.stderr)


def main():
    global AFIFO
    if len(sys.argv) < 2:
        print("usage: %s path/to/afifo [case...]" % os.path.basename(sys.argv[0]), file=sys.stderr)
        return 2
    AFIFO = os.path.abspath(sys.argv[1])
    return run_cases(cases_of(globals()), sys.argv[2:], lambda: contextlib.closing(Env()))


if __name__ == "__main__":
    sys.exit(main())
