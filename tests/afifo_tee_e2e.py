#!/usr/bin/env python3
"""afifo tee end to end, with real processes: FIFO readers (cat), a stopped
reader (SIGSTOP) under each --on-slow policy, a reader that goes away, one
that comes back (--reconnect), the memory bound, threads and signals.

    python3 afifo_tee_e2e.py path/to/afifo [case...]

Every wait is bounded by a timeout; nothing asserts a duration."""

import contextlib
import os
import re
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


def record(i):
    """Line i: its number, then a payload whose length comes from the number,
    so a cut or glued line is seen by parse_records."""
    return b"%09d %s\n" % (i, b"x" * (i * 7919 % 251))


def records(first, count):
    return b"".join(record(i) for i in range(first, first + count))


def make_input(total_bytes):
    """Whole records, at least total_bytes long; returns (bytes, count)."""
    chunks, n, size = [], 0, 0
    while size < total_bytes:
        block = records(n, 10000)
        chunks.append(block)
        size += len(block)
        n += 10000
    return b"".join(chunks), n


def parse_records(data):
    """The numbers of the whole records in data; raises on a broken one."""
    if data and not data.endswith(b"\n"):
        raise Failure("output ends in the middle of a record")
    nums = []
    for line in data.split(b"\n")[:-1]:
        m = re.fullmatch(rb"(\d{9}) (x*)", line)
        if not m or len(m.group(2)) != int(m.group(1)) * 7919 % 251:
            raise Failure("broken record: %r" % line[:80])
        nums.append(int(m.group(1)))
    return nums


_asan = None


def asan_build():
    global _asan
    if _asan is None:
        with open(AFIFO, "rb") as f:
            _asan = b"__asan_init" in f.read()
    return _asan


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """Samples a process's threads, io-wq workers and RSS while it runs."""

    def __init__(self, pid):
        self.pid, self.max_threads, self.max_iowq, self.max_rss = pid, 0, 0, 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                t, w = tasks_of(self.pid)
                r = rss_kib(self.pid)
            except OSError:
                break
            self.max_threads = max(self.max_threads, t)
            self.max_iowq = max(self.max_iowq, w)
            self.max_rss = max(self.max_rss, r)
            self.samples += 1
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._t.join()


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="afifo-tee-")
        self.procs = []

    def fifo(self, name):
        p = os.path.join(self.dir, name)
        os.mkfifo(p)
        return p

    def path(self, name):
        return os.path.join(self.dir, name)

    def reader(self, fifo, out, argv=None):
        """A reader process of fifo writing to file out, in its own session."""
        with open(out, "wb") as f:
            p = subprocess.Popen(argv or ["cat", fifo], stdout=f, start_new_session=True)
        self.procs.append(p)
        return p

    def tee(self, args, stdin=subprocess.PIPE):
        env = dict(os.environ)
        if asan_build():
            # ASan keeps freed memory in a quarantine (256 MiB by default),
            # which would count as ours in the memory bound.
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")
        p = subprocess.Popen([AFIFO, "tee"] + args, stdin=stdin, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True, env=env)
        self.procs.append(p)
        # stderr is collected on the side: communicate() would close stdin
        # under the feeder.
        p.err_chunks = []
        p.err_thread = threading.Thread(target=lambda: p.err_chunks.append(p.stderr.read()),
                                        daemon=True)
        p.err_thread.start()
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.kill()
                except OSError:
                    pass
                p.wait()
        subprocess.run(["rm", "-rf", self.dir])


class Feeder:
    """Writes data to a pipe in a thread; pace: seconds of pause per MiB,
    so fast readers keep up on a loaded machine (never asserted)."""

    def __init__(self, pipe, data, pace=0.0, close=True):
        self.pipe, self.data, self.pace, self.close = pipe, data, pace, close
        self.done = threading.Event()
        self.error = None
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        try:
            step = 1 << 20
            for off in range(0, len(self.data), step):
                self.pipe.write(self.data[off:off + step])
                self.pipe.flush()
                if self.pace:
                    time.sleep(self.pace)
            if self.close:
                self.pipe.close()
        except (BrokenPipeError, ValueError, OSError) as e:
            self.error = e
        self.done.set()

    def join(self, timeout=TIMEOUT):
        self._t.join(timeout)
        check(not self._t.is_alive(), "the feeder finished")


def finish(p, what, timeout=TIMEOUT):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise Failure(what + ": did not end")
    p.err_thread.join(timeout)
    return p.returncode, b"".join(p.err_chunks).decode(errors="replace")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def dropped_counts(err):
    """{output name: (records, bytes)} from tee's report."""
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"afifo: (.*): dropped (\d+) records \((\d+) bytes\)", err)}


def check_drop_report(nums, total, counts, what):
    """The records missing from an output are the ones reported dropped."""
    got = set(nums)
    check(len(got) == len(nums) and nums == sorted(nums), what + ": records in order, once")
    missing = [i for i in range(total) if i not in got]
    check(counts[0] == len(missing),
          "%s: %d records reported dropped, %d missing" % (what, counts[0], len(missing)))
    check(counts[1] == sum(len(record(i)) for i in missing), what + ": dropped bytes counted")


# ---------------------------------------------------------------------------


def case_four_readers_get_identical_bytes(env):
    data, _ = make_input(24 << 20)
    fifos = [env.fifo("f%d" % i) for i in range(4)]
    outs = [env.path("o%d" % i) for i in range(4)]
    for f, o in zip(fifos, outs):
        env.reader(f, o)
    tee = env.tee(sum((["-o", f] for f in fifos), []))
    sampler = Sampler(tee.pid)
    feeder = Feeder(tee.stdin, data)
    code, err = finish(tee, "tee")
    sampler.stop()
    feeder.join()
    for p in env.procs[:4]:
        p.wait(timeout=TIMEOUT)
    check(code == 0, "exit 0, got %s (%s)" % (code, err))
    check(err == "", "nothing on stderr: %r" % err)
    for o in outs:
        check(read(o) == data, o + ": the same bytes as the input (%d of %d)" % (size(o), len(data)))
    check(sampler.samples > 0, "sampled the running tee")
    check(sampler.max_threads == 1, "one thread, saw %d" % sampler.max_threads)
    check(sampler.max_iowq == 0, "no io-wq worker, saw %d" % sampler.max_iowq)


def case_file_and_stdout_outputs(env):
    data, _ = make_input(1 << 20)
    src = env.path("in")
    with open(src, "wb") as f:
        f.write(data)
    fout = env.path("file-out")
    with open(fout, "wb") as f:
        f.write(b"old contents, truncated as tee does" * 100000)
    p = subprocess.run([AFIFO, "tee", src, "-o", fout, "-o", "-"], capture_output=True,
                       timeout=TIMEOUT)
    check(p.returncode == 0, "exit 0: %r" % p.stderr)
    check(p.stdout == data, "stdout has the input")
    check(read(fout) == data, "the file has the input (truncated first)")


def stopped_setup(env, policy, nfast, buffer, extra=()):
    fifos = [env.fifo("f%d" % i) for i in range(nfast + 1)]
    outs = [env.path("o%d" % i) for i in range(nfast + 1)]
    args = ["--on-slow=" + policy, "--buffer=" + buffer] + list(extra)
    args += sum((["-o", f] for f in fifos), [])
    tee = env.tee(args)
    readers = [env.reader(f, o) for f, o in zip(fifos, outs)]
    slow = readers[-1]
    # Stopped only once it has the FIFO open (its open returns when tee's
    # does): a reader that stopped reading, not one that never came.
    wait_until(lambda: has_open(slow.pid, fifos[-1]), "the reader to open its FIFO")
    os.kill(slow.pid, signal.SIGSTOP)
    return fifos, outs, readers, slow, tee


def case_block_stalls_everyone_until_the_reader_continues(env):
    data, _ = make_input(16 << 20)
    fifos, outs, readers, slow, tee = stopped_setup(env, "block", 3, "64K")
    feeder = Feeder(tee.stdin, data)
    # Wait until nothing moves any more, then look.
    last = None
    def settled():
        nonlocal last
        now = [size(o) for o in outs[:-1]]
        same, last = now == last, now
        return same
    wait_until(lambda: settled() and settled(), "the outputs to stop growing", step=0.3)
    got = [size(o) for o in outs[:-1]]
    check(all(g < (2 << 20) for g in got),
          "the others stop too while one reader is stopped (got %s of %d)" % (got, len(data)))
    check(not feeder.done.is_set(), "the input is held back")
    threads, iowq = tasks_of(tee.pid)
    check(threads == 1 and iowq == 0, "waiting: 1 thread, no io-wq (%d, %d)" % (threads, iowq))
    os.kill(slow.pid, signal.SIGCONT)
    code, err = finish(tee, "tee")
    feeder.join()
    for r in readers:
        r.wait(timeout=TIMEOUT)
    check(code == 0 and err == "", "exit 0, quiet: %s %r" % (code, err))
    for o in outs:
        check(read(o) == data, o + ": everything arrives once the reader goes on")


def case_drop_keeps_the_others_complete_and_records_whole(env):
    data, total = make_input(64 << 20)
    # A running reader loses records only if it falls 32 MiB behind (the
    # feed is paced to ~100 MB/s so a loaded machine's stalls stay below).
    fifos, outs, readers, slow, tee = stopped_setup(env, "drop", 3, "32M")
    feeder = Feeder(tee.stdin, data, pace=0.01)
    feeder.join()
    try:
        wait_until(lambda: all(size(o) == len(data) for o in outs[:-1]),
                   "the running readers to get everything")
    except Failure:
        os.kill(slow.pid, signal.SIGCONT)
        _, err = finish(tee, "tee")
        raise Failure("the running readers got %s of %d: %r"
                      % ([size(o) for o in outs[:-1]], len(data), err))
    # Each running reader gets its EOF once it has everything, not when the
    # stopped one is done.
    wait_until(lambda: all(r.poll() is not None for r in readers[:-1]),
               "the running readers to see EOF")
    check(tee.poll() is None, "tee still holds what the stopped reader will get")
    os.kill(slow.pid, signal.SIGCONT)
    code, err = finish(tee, "tee")
    for r in readers:
        r.wait(timeout=TIMEOUT)
    check(code == 0, "exit 0: %s %r" % (code, err))
    counts = dropped_counts(err)
    check(set(counts) == set(fifos), "a count for every output: %r" % err)
    for f, o in zip(fifos[:-1], outs[:-1]):
        check(read(o) == data, o + ": complete")
        check(counts[f] == (0, 0), f + ": nothing dropped")
    nums = parse_records(read(outs[-1]))
    check(0 < len(nums) < total, "the stopped reader lost some records, not all")
    check_drop_report(nums, total, counts[fifos[-1]], "the stopped reader")


def case_drop_memory_stays_bounded(env):
    data, total = make_input(128 << 20)
    fifos, outs, readers, slow, tee = stopped_setup(env, "drop", 1, "4M")
    base = rss_kib(tee.pid)  # connected, nothing read yet
    sampler = Sampler(tee.pid)
    feeder = Feeder(tee.stdin, data, pace=0.005)
    feeder.join(timeout=4 * TIMEOUT)
    sampler.stop()
    os.kill(slow.pid, signal.SIGCONT)
    code, err = finish(tee, "tee")
    for r in readers:
        r.wait(timeout=TIMEOUT)
    check(code == 0, "exit 0: %s %r" % (code, err))
    # Per output at most --buffer, one more for the record being read, and
    # some slack for the allocator and the pipes' pages.
    bound = base + 3 * 4096 + 8192
    check(sampler.max_rss < bound,
          "VmRSS stays under %d KiB (%d at the start) with 128 MiB fed past a stopped "
          "reader: %d KiB" % (bound, base, sampler.max_rss))
    check(sampler.max_threads == 1 and sampler.max_iowq == 0,
          "1 thread, no io-wq (%d, %d)" % (sampler.max_threads, sampler.max_iowq))
    counts = dropped_counts(err)
    # What each output lacks is what it was told it lost, in whole records.
    for f, o in zip(fifos, outs):
        check_drop_report(parse_records(read(o)), total, counts[f], f)
    check(counts[fifos[-1]][0] > 0, "the stopped reader lost records")


def case_disconnect_drops_the_slow_output(env):
    data, _ = make_input(48 << 20)
    fifos, outs, readers, slow, tee = stopped_setup(env, "disconnect", 2, "16M")
    feeder = Feeder(tee.stdin, data, pace=0.01)
    feeder.join()
    code, err = finish(tee, "tee")
    check(code == 0, "exit 0: %s %r" % (code, err))
    check("afifo: %s: reader too slow, disconnected" % fifos[-1] in err, "said so: %r" % err)
    check("afifo: %s: disconnected 1 times" % fifos[-1] in err, "counted: %r" % err)
    os.kill(slow.pid, signal.SIGCONT)
    for r in readers:
        r.wait(timeout=TIMEOUT)
    for o in outs[:-1]:
        check(read(o) == data, o + ": complete")
    got = read(outs[-1])
    check(len(got) < len(data) and data.startswith(got),
          "the slow reader got a beginning of the input, then EOF")


def case_a_reader_that_exits_is_dropped_and_the_others_go_on(env):
    data, _ = make_input(8 << 20)
    fifos = [env.fifo("f%d" % i) for i in range(3)]
    outs = [env.path("o%d" % i) for i in range(3)]
    readers = [env.reader(fifos[0], outs[0], ["head", "-c", "1000", fifos[0]])]
    readers += [env.reader(f, o) for f, o in zip(fifos[1:], outs[1:])]
    tee = env.tee(sum((["-o", f] for f in fifos), []))
    feeder = Feeder(tee.stdin, data)
    code, err = finish(tee, "tee")
    feeder.join()
    check(code == 0, "a reader going away is no error: %s %r" % (code, err))
    check(err == "afifo: %s: reader went away\n" % fifos[0], "one warning: %r" % err)
    check(read(outs[0]) == data[:1000], "head got its beginning")
    for o in outs[1:]:
        check(read(o) == data, o + ": complete")


def case_reconnect_reopens_for_a_new_reader_at_a_record(env):
    a, b = env.fifo("a"), env.fifo("b")
    oa1, oa2, ob = env.path("a1"), env.path("a2"), env.path("b-out")
    first = env.reader(a, oa1, ["head", "-c", "100", a])
    env.reader(b, ob)
    tee = env.tee(["--reconnect", "-o", a, "-o", b])
    n = 0

    def send(count):
        nonlocal n
        tee.stdin.write(records(n, count))
        tee.stdin.flush()
        n += count

    send(100)
    first.wait(timeout=TIMEOUT)
    # Lines go on (slowly) until the gone reader is noticed and a new one
    # has been given some.
    second = None
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        send(1)
        if second is None and n > 150:
            second = env.reader(a, oa2)
        if second is not None and size(oa2) > 0:
            break
        time.sleep(0.01)
    check(size(oa2) > 0, "the new reader gets data")
    send(100)
    tee.stdin.close()
    code, err = finish(tee, "tee")
    check(code == 0, "exit 0: %s %r" % (code, err))
    second.wait(timeout=TIMEOUT)
    check(parse_records(read(ob)) == list(range(n)), "the other output got every record")
    got = parse_records(read(oa2))
    check(got == list(range(got[0], n)), "the new reader starts at a whole record, then all")
    check("afifo: %s: reader went away, waiting for a new one" % a in err, "said so: %r" % err)


def case_sigterm_ends_a_blocked_tee(env):
    data, _ = make_input(4 << 20)
    fifos, outs, readers, slow, tee = stopped_setup(env, "block", 1, "64K")
    feeder = Feeder(tee.stdin, data)
    wait_until(lambda: size(outs[0]) > 0, "data to flow")
    os.kill(tee.pid, signal.SIGTERM)
    code, _ = finish(tee, "tee after SIGTERM")
    check(code == -signal.SIGTERM, "died of SIGTERM, got %s" % code)


SLOW_READER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
out = open(sys.argv[2], "wb")
while True:
    b = os.read(fd, int(sys.argv[3]))
    if not b:
        break
    out.write(b)
    time.sleep(float(sys.argv[4]))
"""


def slow_reader(env, fifo, out, piece, pause):
    """A reader of fifo that takes `piece` bytes at a time with a pause
    between: its pipe is often part full, so tee(2) gives it part of what
    waits and the rest goes by its queue."""
    p = subprocess.Popen([sys.executable, "-c", SLOW_READER, fifo, out, str(piece), str(pause)],
                         start_new_session=True)
    env.procs.append(p)
    return p


def case_mixed_outputs_get_identical_bytes_with_null_framing(env):
    # FIFOs with fast readers (tee(2)), one read in small pieces (tee and
    # queue mixed), a regular file (the queue alone): the same bytes in each.
    data = b"".join(b"%d %s\0" % (i, b"y" * (i * 31 % 3000)) for i in range(12000))
    fast = [env.fifo("f%d" % i) for i in range(2)]
    slowf = env.fifo("slow")
    outs = [env.path("o%d" % i) for i in range(2)]
    slow_out, file_out = env.path("slow-out"), env.path("file-out")
    readers = [env.reader(f, o) for f, o in zip(fast, outs)]
    readers.append(slow_reader(env, slowf, slow_out, 5000, 0.0005))
    tee = env.tee(["--framing=null", "-o", fast[0], "-o", slowf, "-o", file_out, "-o", fast[1]])
    feeder = Feeder(tee.stdin, data)
    code, err = finish(tee, "tee")
    feeder.join()
    for r in readers:
        r.wait(timeout=TIMEOUT)
    check(code == 0 and err == "", "exit 0, quiet: %s %r" % (code, err))
    for o in outs + [slow_out, file_out]:
        check(read(o) == data, o + ": the same bytes as the input (%d of %d)" % (size(o), len(data)))


def case_stdin_pipe_to_stdout_pipe_and_a_fifo(env):
    # Pipes from the caller on both sides (tee(2) from stdin's pipe to
    # stdout's and to a FIFO): the same bytes in each.
    data, _ = make_input(8 << 20)
    f, o = env.fifo("f"), env.path("o")
    reader = env.reader(f, o)
    p = subprocess.run([AFIFO, "tee", "-o", "-", "-o", f], input=data, capture_output=True,
                       timeout=TIMEOUT)
    reader.wait(timeout=TIMEOUT)
    check(p.returncode == 0 and p.stderr == b"", "exit 0, quiet: %s %r" % (p.returncode, p.stderr))
    check(p.stdout == data, "stdout has the input (%d of %d)" % (len(p.stdout), len(data)))
    check(read(o) == data, "the FIFO's reader has the input")


def case_drop_keeps_records_whole_for_a_reader_taking_small_pieces(env):
    # Its pipe part full most of the time: tee(2) gives it the start of a
    # record and the rest must follow, never be dropped.
    data, total = make_input(16 << 20)
    fifos = [env.fifo("fast"), env.fifo("slow")]
    outs = [env.path("fast-out"), env.path("slow-out")]
    tee = env.tee(["--on-slow=drop", "--buffer=64K", "-o", fifos[0], "-o", fifos[1]])
    readers = [env.reader(fifos[0], outs[0]), slow_reader(env, fifos[1], outs[1], 3000, 0.001)]
    feeder = Feeder(tee.stdin, data)
    code, err = finish(tee, "tee")
    feeder.join()
    for r in readers:
        r.wait(timeout=TIMEOUT)
    check(code == 0, "exit 0: %s %r" % (code, err))
    counts = dropped_counts(err)
    check(set(counts) == set(fifos), "a count for every output: %r" % err)
    for f, o in zip(fifos, outs):
        check_drop_report(parse_records(read(o)), total, counts[f], f)
    check(counts[fifos[1]][0] > 0, "the slow reader lost records: %r" % err)


def case_a_reader_killed_mid_stream_is_dropped_and_the_others_complete(env):
    data, _ = make_input(32 << 20)
    fifos = [env.fifo("f%d" % i) for i in range(3)]
    outs = [env.path("o%d" % i) for i in range(3)]
    readers = [env.reader(f, o) for f, o in zip(fifos, outs)]
    tee = env.tee(sum((["-o", f] for f in fifos), []))
    feeder = Feeder(tee.stdin, data, pace=0.02)
    wait_until(lambda: size(outs[1]) > (2 << 20), "data to flow")
    readers[1].kill()
    code, err = finish(tee, "tee")
    feeder.join()
    check(code == 0, "a reader going away is no error: %s %r" % (code, err))
    check(err == "afifo: %s: reader went away\n" % fifos[1], "one warning: %r" % err)
    got = read(outs[1])
    check(len(got) < len(data) and data.startswith(got), "the killed reader got a beginning")
    for i in (0, 2):
        readers[i].wait(timeout=TIMEOUT)
        check(read(outs[i]) == data, outs[i] + ": complete")


def case_usage_and_errors(env):
    def run(args, stdin=b""):
        return subprocess.run([AFIFO, "tee"] + args, input=stdin, capture_output=True,
                              timeout=TIMEOUT)
    for args in (["--buffer=12x", "-o", "-"], ["--buffer=1K", "-o", "-"],
                 ["--on-slow=wait", "-o", "-"], ["--framing=word", "-o", "-"], []):
        p = run(args)
        check(p.returncode == 2, "%s: usage error exits 2, got %d" % (args, p.returncode))
        check(p.stderr.decode().startswith("afifo: "), "%s: says why" % args)
    missing = env.path("nope")
    p = run([missing, "-o", "-"])
    check(p.returncode == 1, "a missing input exits 1")
    check(p.stderr.decode() == "afifo: %s: No such file or directory\n" % missing,
          "one line: %r" % p.stderr)
    p = run(["-o", env.path("no/such/dir"), "-o", "-"], stdin=b"abc\n")
    check(p.returncode == 1 and p.stdout == b"abc\n",
          "an output that cannot be opened: the others still get it, exit 1")


def main():
    global AFIFO
    if len(sys.argv) < 2:
        print("usage: %s path/to/afifo [case...]" % os.path.basename(sys.argv[0]), file=sys.stderr)
        return 2
    AFIFO = os.path.abspath(sys.argv[1])
    return run_cases(cases_of(globals()), sys.argv[2:], lambda: contextlib.closing(Env()))


if __name__ == "__main__":
    sys.exit(main())
