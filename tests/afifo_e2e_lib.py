"""What the afifo end-to-end scripts (tests/afifo_*_e2e.py) share: failing a
case, bounded waits, what /proc says of a process, and the case runner.

Imported by those scripts (their directory is first on sys.path); not a
test itself (the CTest glob takes afifo_*_e2e.py only)."""

import os
import subprocess
import sys
import time

TIMEOUT = 60.0  # for any one wait; generous for a loaded 2-core machine


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_until(pred, what, timeout=TIMEOUT, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(step)
    raise Failure("timed out waiting for " + what)


def task_names(pid):
    """The comm of each thread of pid (io-wq workers are iou-wrk-*)."""
    names = []
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                names.append(f.read().strip())
        except OSError:
            pass  # a thread that ended meanwhile
    return names


def tasks_of(pid):
    """(thread count, io-wq worker count) of pid."""
    names = task_names(pid)
    return len(names), sum(1 for n in names if n.startswith("iou-wrk"))


def has_open(pid, path):
    d = "/proc/%d/fd" % pid
    try:
        return any(os.readlink(os.path.join(d, fd)) == path for fd in os.listdir(d))
    except OSError:
        return False


def cases_of(module_globals):
    """{name: function} of the case_NAME functions of a script, sorted."""
    return {name[5:]: fn for name, fn in sorted(module_globals.items())
            if name.startswith("case_")}


def run_cases(cases, names, setup):
    """Runs the named cases (all when none is named), each with what the
    context manager `setup()` gives, and prints ok/FAIL per case with its
    time; returns the exit status (1 if any failed, 2 for an unknown name)."""
    names = names or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print("no case %s; cases: %s" % (" ".join(unknown), " ".join(cases)), file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        start = time.monotonic()
        try:
            with setup() as env:
                cases[name](env)
            print("ok   %s (%.1f s)" % (name, time.monotonic() - start), flush=True)
        except (Failure, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
    print("%d of %d failed" % (failed, len(names)))
    return 1 if failed else 0
