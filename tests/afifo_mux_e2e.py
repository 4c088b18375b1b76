#!/usr/bin/env python3
"""End-to-end runs of `afifo mux` with real writer processes and real FIFOs.

Usage: afifo_mux_e2e.py AFIFO [CASE...]; every case when none is named.
Each case asserts outcomes (bytes, checksums, exit codes, signals, thread
and io-wq counts, CPU ticks), never timings; each is bounded by timeouts.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.dont_write_bytecode = True  # importing the lib leaves no __pycache__ in the source tree
from afifo_e2e_lib import Failure as Failed
from afifo_e2e_lib import cases_of, run_cases
from afifo_e2e_lib import check as expect
from afifo_e2e_lib import task_names as tasks

BIN = os.path.abspath(sys.argv[1])
MARK = b"[afifo: partial record]"
TIMEOUT = 120  # seconds, for anything that should end by itself


# A writer process: opens FIFO, writes COUNT lines of random length
# (log-uniform, 1 byte to 64 KiB) each in 1-3 write() calls, closes.
# Line: "<writer> <seq> <crc32 hex> <payload>\n".
WRITER = r"""
import os, random, sys, zlib
path, wid, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
table = bytes((97 + i % 26) for i in range(256))
fd = os.open(path, os.O_WRONLY)
for seq in range(count):
    n = max(1, int(2 ** rng.uniform(0, 16)))
    payload = rng.randbytes(n).translate(table)
    line = b"%s %d %08x " % (wid.encode(), seq, zlib.crc32(payload)) + payload + b"\n"
    cuts = sorted(rng.randrange(len(line) + 1) for _ in range(rng.randrange(3)))
    prev = 0
    for c in cuts + [len(line)]:
        view = memoryview(line)[prev:c]
        while len(view):
            view = view[os.write(fd, view):]
        prev = c
os.close(fd)
"""


def check_lines(data, expected):
    """`expected`: {writer id: number of lines}. Every line once, intact, in
    its writer's order; nothing else."""
    lines = data.split(b"\n")
    expect(lines[-1] == b"", "output ends with a newline")
    seen = {w: 0 for w in expected}
    for line in lines[:-1]:
        parts = line.split(b" ", 3)
        expect(len(parts) == 4, f"line is whole: {line[:80]!r}")
        w, seq, crc, payload = parts[0].decode(), int(parts[1]), int(parts[2], 16), parts[3]
        expect(w in seen, f"known writer: {line[:80]!r}")
        expect(zlib.crc32(payload) == crc, f"checksum of {w} {seq} (interleaved or cut)")
        expect(seq == seen[w], f"{w}: line {seq} after {seen[w] - 1} (lost, repeated or reordered)")
        seen[w] += 1
    expect(seen == expected, f"every line exactly once: {seen} vs {expected}")


class Mux:
    """afifo mux in its own session (so SIGINT reaches it as from a shell's
    foreground), its stdout collected by a thread."""

    def __init__(self, *args, stdin=subprocess.DEVNULL):
        self.p = subprocess.Popen([BIN, "mux", *args], stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.out = bytearray()
        self.err = b""
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        while True:
            b = self.p.stdout.read1(1 << 20)
            if not b:
                return
            with self.lock:
                self.out += b

    def output(self):
        with self.lock:
            return bytes(self.out)

    def wait_output(self, pred, what, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.output()):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        raise Failed(f"output never had {what}: {self.output()[-200:]!r}")

    def wait(self, timeout=TIMEOUT):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failed("mux did not end")
        self.t.join(timeout)
        self.err = self.p.stderr.read()
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def fds_to(self, paths):
        """How many of `paths` the process has open."""
        want = {os.path.realpath(p) for p in paths}
        n = 0
        try:
            for fd in os.listdir(f"/proc/{self.p.pid}/fd"):
                try:
                    if os.readlink(f"/proc/{self.p.pid}/fd/{fd}") in want:
                        n += 1
                except OSError:
                    pass
        except OSError:
            pass
        return n

    def fd_numbers(self, path):
        """The fd numbers the process has open on `path`."""
        want = os.path.realpath(path)
        out = set()
        for fd in os.listdir(f"/proc/{self.p.pid}/fd"):
            try:
                if os.readlink(f"/proc/{self.p.pid}/fd/{fd}") == want:
                    out.add(int(fd))
            except OSError:
                pass
        return out

    def wait_reopened(self, path, before, timeout=TIMEOUT):
        """Waits until mux has reopened `path` (its fd to it is not one of
        `before`): it has read the end-of-file of the last writer."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            now = self.fd_numbers(path)
            if now and not now & before:
                return
            time.sleep(0.02)
        raise Failed("mux never reopened the FIFO")

    def wait_open(self, paths, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.fds_to(paths) >= len(paths):
                return
            if self.p.poll() is not None:
                raise Failed(f"mux ended early: {self.p.stderr.read()!r}")
            time.sleep(0.02)
        raise Failed("mux never opened its inputs")


def fifos(d, n, prefix="f"):
    paths = [os.path.join(d, f"{prefix}{i}") for i in range(n)]
    for p in paths:
        os.mkfifo(p)
    return paths


def writer(path, wid, count, seed):
    return subprocess.Popen([sys.executable, "-c", WRITER, path, wid, str(count), str(seed)])


def case_many_writers(d):
    """8 writer processes x 5,000 lines (AFIFO_MUX_LINES) of 1 B..64 KiB,
    each line in up to three write()s: every line arrives once, intact, in
    its writer's order."""
    n, count = 8, int(os.environ.get("AFIFO_MUX_LINES", "5000"))
    paths = fifos(d, n)
    m = Mux("--until=eof", *paths)
    ws = [writer(p, f"w{i}", count, i) for i, p in enumerate(paths)]
    for w in ws:
        expect(w.wait(TIMEOUT) == 0, "writer ended well")
    expect(m.wait() == 0, f"mux --until=eof exits 0 ({m.err!r})")
    check_lines(m.output(), {f"w{i}": count for i in range(n)})


def case_long_lines(d):
    """1 MiB lines (16x a pipe's buffer) from 3 writers stay whole."""
    paths = fifos(d, 3)
    m = Mux("--until=eof", *paths)
    code = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(8):
    line = (sys.argv[2] * (1 << 20)).encode() + b"\n"
    v = memoryview(line)
    while len(v):
        v = v[os.write(fd, v[:100000]):]
"""
    ws = [subprocess.Popen([sys.executable, "-c", code, p, "abc"[i]]) for i, p in enumerate(paths)]
    for w in ws:
        expect(w.wait(TIMEOUT) == 0, "writer ended well")
    expect(m.wait() == 0, "mux exits 0")
    lines = m.output().split(b"\n")[:-1]
    expect(len(lines) == 24, f"24 lines ({len(lines)})")
    for line in lines:
        expect(len(line) == 1 << 20 and line == line[:1] * len(line), "a 1 MiB line is whole")


def case_long_record_pieces_not_cut(d):
    """A record longer than --max-record goes out in pieces, but no other
    input's record comes between them, whatever the timing."""
    a, b = fifos(d, 2)
    m = Mux("--until=eof", "--max-record=40", a, b)
    code_a = r"""
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
for part in (b"x" * 30, b"x" * 30, b"x" * 30 + b"\n"):
    os.write(fd, part)
    time.sleep(0.1)
"""
    code_b = r"""
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(50):
    os.write(fd, b"b\n")
    time.sleep(0.005)
"""
    wa = subprocess.Popen([sys.executable, "-c", code_a, a])
    wb = subprocess.Popen([sys.executable, "-c", code_b, b])
    expect(wa.wait(TIMEOUT) == 0 and wb.wait(TIMEOUT) == 0, "writers ended well")
    expect(m.wait() == 0, f"exit 0 ({m.err!r})")
    lines = m.output().split(b"\n")[:-1]
    expect(lines.count(b"b") == 50 and len(lines) == 51, f"50 b lines and one more: {lines}")
    expect(b"x" * 90 in lines, f"the long record is in one piece in the output: {lines}")
    expect(m.err.count(b"longer than --max-record") == 1, f"warned once: {m.err!r}")


def case_killed_mid_line(d):
    """A writer killed in the middle of a line: what it wrote comes out alone,
    ending with the marker; the next writer's line is not glued to it."""
    (p,) = fifos(d, 1)
    m = Mux("--tag", p)
    m.wait_open([p])
    code = r"""
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"whole line\nhalf a li")
print("ready", flush=True)
time.sleep(600)
"""
    w = subprocess.Popen([sys.executable, "-c", code, p], stdout=subprocess.PIPE)
    expect(w.stdout.readline() == b"ready\n", "writer wrote")
    m.wait_output(lambda o: b"whole line\n" in o, "the whole line")
    w.kill()
    w.wait()
    tag = p.encode() + b": "
    m.wait_output(lambda o: MARK in o, "the partial record")
    with open(p, "wb") as f:
        f.write(b"next writer\n")
    m.wait_output(lambda o: o.count(b"\n") >= 3, "the next writer's line")
    m.p.send_signal(signal.SIGTERM)
    expect(m.wait() == -signal.SIGTERM, "dies of SIGTERM")
    expect(m.output() == tag + b"whole line\n" + tag + b"half a li" + MARK + b"\n" + tag +
           b"next writer\n", f"partial marked and alone: {m.output()!r}")


def case_killed_mid_line_drop(d):
    """--partial=drop: the cut record is not delivered at all; the next
    writer's line is whole."""
    (p,) = fifos(d, 1)
    m = Mux("--partial=drop", p)
    m.wait_open([p])
    first = m.fd_numbers(p)
    code = r"""
import os, sys, signal
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"kept\ncut sh")
os.kill(os.getpid(), signal.SIGKILL)
"""
    w = subprocess.Popen([sys.executable, "-c", code, p])
    w.wait(TIMEOUT)
    m.wait_output(lambda o: b"kept\n" in o, "the whole line")
    m.wait_reopened(p, first)
    with open(p, "wb") as f:
        f.write(b"next\n")
    m.wait_output(lambda o: b"next\n" in o, "the next writer's line")
    m.p.send_signal(signal.SIGINT)
    expect(m.wait() == -signal.SIGINT, "dies of SIGINT")
    expect(m.output() == b"kept\nnext\n", f"partial dropped, nothing glued: {m.output()!r}")


def case_reconnecting(d):
    """Writers connecting and leaving 300 times on each of 2 FIFOs: every
    line once, intact; mux goes on after each and dies of SIGTERM at the end
    with all of it written."""
    paths = fifos(d, 2)
    m = Mux(*paths)
    m.wait_open(paths)
    code = r"""
import os, sys
path, wid, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
seq = 0
for r in range(rounds):
    fd = os.open(path, os.O_WRONLY)
    for k in range(5):
        line = b"%s %d 00000000 \n" % (wid.encode(), seq)
        os.write(fd, line[:5]); os.write(fd, line[5:])
        seq += 1
    os.close(fd)
"""
    rounds = 300
    ws = [subprocess.Popen([sys.executable, "-c", code, p, f"r{i}", str(rounds)])
          for i, p in enumerate(paths)]
    for w in ws:
        expect(w.wait(TIMEOUT) == 0, "writer ended well")
    total = 2 * rounds * 5
    m.wait_output(lambda o: o.count(b"\n") >= total, f"{total} lines")
    expect(m.p.poll() is None, "mux is still running (FIFOs are followed)")
    m.p.send_signal(signal.SIGTERM)
    expect(m.wait() == -signal.SIGTERM, "dies of SIGTERM")
    # The payload is empty: its crc32 is 0.
    check_lines(m.output(), {"r0": rounds * 5, "r1": rounds * 5})


def case_until_eof(d):
    """--until=eof waits for every input to have had a writer, then ends
    when all have left; a file input ends at its end."""
    a, b = fifos(d, 2)
    f = os.path.join(d, "file")
    with open(f, "wb") as fh:
        fh.write(b"from file\nno newline")
    m = Mux("--until=eof", a, b, f)
    m.wait_open([a, b])
    with open(a, "wb") as fh:
        fh.write(b"a1\n")
    m.wait_output(lambda o: b"a1\n" in o, "a's line")
    expect(m.p.poll() is None, "still running: b never had a writer")
    with open(b, "wb") as fh:
        fh.write(b"b1\n")
    expect(m.wait() == 0, f"exits 0 ({m.err!r})")
    lines = sorted(m.output().split(b"\n")[:-1])
    expect(lines == [b"a1", b"b1", b"from file", b"no newline"], f"all lines: {lines}")


def case_idle_timeout(d):
    """--idle-timeout ends mux (exit 0) while a writer is still connected
    and silent; what it wrote is out."""
    (p,) = fifos(d, 1)
    m = Mux("--idle-timeout=300ms", p)
    m.wait_open([p])
    fd = os.open(p, os.O_WRONLY)
    try:
        os.write(fd, b"only line\n")
        expect(m.wait() == 0, f"exits 0 ({m.err!r})")
    finally:
        os.close(fd)
    expect(m.output() == b"only line\n", f"the line: {m.output()!r}")


def case_signals_no_writer(d):
    """SIGINT and SIGTERM with no writer ever attached: death by the signal."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        p = os.path.join(d, f"s{sig}")
        m = Mux("--create", p)
        m.wait_open([p])
        m.p.send_signal(sig)
        expect(m.wait() == -sig, f"dies of {sig.name} ({m.p.returncode})")
        expect(m.err == b"" and m.output() == b"", "silent")


def case_signal_flushes_records(d):
    """Records already read are written before mux dies of SIGINT; the
    record still under way comes out marked."""
    (p,) = fifos(d, 1)
    m = Mux(p)
    m.wait_open([p])
    fd = os.open(p, os.O_WRONLY)
    try:
        os.write(fd, b"one\ntwo\nthr")
        m.wait_output(lambda o: b"two\n" in o, "the whole lines")
        time.sleep(0.2)
        m.p.send_signal(signal.SIGINT)
        expect(m.wait() == -signal.SIGINT, "dies of SIGINT")
    finally:
        os.close(fd)
    expect(m.output() == b"one\ntwo\nthr" + MARK + b"\n", f"output: {m.output()!r}")


def case_signal_with_stalled_output(d):
    """SIGTERM while the output's reader reads nothing (the pipe is full):
    mux still dies of the signal (the flush of what it read gives up)."""
    (p,) = fifos(d, 1)
    r, w = os.pipe()
    try:
        m = subprocess.Popen([BIN, "mux", p], stdout=w, stderr=subprocess.PIPE,
                             start_new_session=True)
        os.close(w)
        w = -1
        fd = os.open(p, os.O_WRONLY)
        try:
            line = b"y" * 99 + b"\n"
            for _ in range(3000):  # 300 KB: past the 64 KiB pipe
                os.write(fd, line)
            time.sleep(0.2)
            m.send_signal(signal.SIGTERM)
            try:
                rc = m.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                m.kill()
                raise Failed("mux hung on a stalled output after SIGTERM")
            expect(rc == -signal.SIGTERM, f"dies of SIGTERM ({rc})")
        finally:
            os.close(fd)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def case_usage_errors(d):
    f = os.path.join(d, "x")
    open(f, "w").close()
    for bad in ([], ["--framing=lines", f], ["--idle-timeout=soon", f], ["--idle-timeout=0", f],
                ["--create=999", f], ["--max-record=0", f], ["--partial=keep", f],
                ["--until=never", f], ["--no-such-option", f]):
        p = subprocess.run([BIN, "mux", *bad], capture_output=True, timeout=TIMEOUT)
        expect(p.returncode == 2, f"{bad} exits 2 (got {p.returncode})")
        lines = p.stderr.decode().splitlines()
        expect(len(lines) == 2 and lines[0].startswith("afifo: ") and "--help" in lines[1],
               f"{bad}: one line and the pointer to --help: {p.stderr!r}")
        expect(p.stdout == b"", f"{bad}: nothing on stdout")
    h = subprocess.run([BIN, "mux", "--help"], capture_output=True, timeout=TIMEOUT)
    expect(h.returncode == 0 and b"--until" in h.stdout and b"--partial" in h.stdout, "--help")
    with open("/dev/full", "wb") as full:
        for args in (["mux", "--help"], ["--version"]):
            p = subprocess.run([BIN, *args], stdout=full, stderr=subprocess.PIPE, timeout=TIMEOUT)
            expect(p.returncode == 1 and p.stderr == b"afifo: write error: No space left on device\n",
                   f"{args} to a full disk: {p.returncode} {p.stderr!r}")


def case_missing_input(d):
    f = os.path.join(d, "present")
    with open(f, "w") as fh:
        fh.write("x\n")
    missing = os.path.join(d, "nope")
    p = subprocess.run([BIN, "mux", f, missing], capture_output=True, timeout=TIMEOUT)
    expect(p.returncode == 1, f"exit 1 (got {p.returncode})")
    expect(p.stderr == f"afifo: {missing}: No such file or directory\n".encode(), f"{p.stderr!r}")
    expect(p.stdout == b"", "nothing read when an input is missing")
    (fifo,) = fifos(d, 1)
    link = os.path.join(d, "link")
    os.symlink(fifo, link)
    p = subprocess.run([BIN, "mux", fifo, link], capture_output=True, timeout=TIMEOUT)
    expect(p.returncode == 1 and p.stderr == f"afifo: {link}: the same FIFO as {fifo}\n".encode(),
           f"one FIFO named twice is refused: {p.returncode} {p.stderr!r}")
    p = subprocess.run([BIN, "mux", d], capture_output=True, timeout=TIMEOUT)
    expect(p.returncode == 1 and p.stderr == f"afifo: {d}: Is a directory\n".encode(),
           f"a directory: {p.returncode} {p.stderr!r}")


def case_files_tags_framing(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    with open(a, "wb") as f:
        f.write(b"a1\0a2\0")
    with open(b, "wb") as f:
        f.write(b"b1\0")
    p = subprocess.run([BIN, "mux", "--framing=null", "--tag=<{index}:{name}>", a, b],
                       capture_output=True, timeout=TIMEOUT)
    expect(p.returncode == 0, "exit 0")
    recs = sorted(p.stdout.split(b"\0")[:-1])
    expect(recs == sorted([f"<1:{a}>a1".encode(), f"<1:{a}>a2".encode(), f"<2:{b}>b1".encode()]),
           f"null records tagged: {p.stdout!r}")
    with open(a, "wb") as f:
        f.write(b"x" * 100 + b"\nshort\n")
    p = subprocess.run([BIN, "mux", "--max-record=40", a], capture_output=True, timeout=TIMEOUT)
    expect(p.returncode == 0 and p.stdout == b"x" * 100 + b"\nshort\n", "pieces, same bytes")
    expect(p.stderr.count(b"longer than --max-record") == 1, f"warned once: {p.stderr!r}")


def case_stdin_pipe(d):
    """`-` is stdin: a pipe is read to its end (its unended last line gets a
    newline, no marker: it is no writer leaving a FIFO), and the pipe's
    flags, shared with the shell, are left as they were (not O_NONBLOCK)."""
    import fcntl
    f = os.path.join(d, "f")
    with open(f, "wb") as fh:
        fh.write(b"file line\n")
    r, w = os.pipe()
    try:
        os.write(w, b"a\nb")
        os.close(w)
        w = -1
        p = subprocess.run([BIN, "mux", "--tag={name}|", "-", f], stdin=r, capture_output=True,
                           timeout=TIMEOUT)
        expect(p.returncode == 0, f"exit 0 ({p.stderr!r})")
        expect(sorted(p.stdout.split(b"\n")[:-1]) == [b"-|a", b"-|b", f"{f}|file line".encode()],
               f"output: {p.stdout!r}")
        expect(not fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK, "stdin left blocking")
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def case_closed_stdout(d):
    """A closed stdout ends mux quietly (SIGPIPE, as cat)."""
    f = os.path.join(d, "big")
    with open(f, "wb") as fh:
        fh.write(b"line\n" * 2_000_000)
    p = subprocess.Popen(f"'{BIN}' mux '{f}' | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}} >&2",
                         shell=True, executable="/bin/bash", stderr=subprocess.PIPE)
    _, err = p.communicate(timeout=TIMEOUT)
    expect(err == b"141\n", f"killed by SIGPIPE and silent: {err!r}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def case_threads_64_fifos(d):
    """64 FIFOs open, half with a connected writer: 1 thread, no io-wq
    worker, and no CPU spent while idle."""
    paths = fifos(d, 64)
    m = Mux(*paths)
    m.wait_open(paths)
    fds = [os.open(p, os.O_WRONLY | os.O_NONBLOCK) for p in paths[:32]]
    try:
        for fd in fds:
            os.write(fd, b"hello\n")
        m.wait_output(lambda o: o.count(b"\n") == 32, "32 lines")
        # Writers leave and come back on a few: mux reopens those FIFOs.
        for i in range(8):
            os.close(fds[i])
            fds[i] = os.open(paths[i], os.O_WRONLY)
            os.write(fds[i], b"again\n")
        m.wait_output(lambda o: o.count(b"\n") == 40, "40 lines")
        time.sleep(0.3)
        names = tasks(m.p.pid)
        expect(len(names) == 1, f"one thread: {names}")
        expect(not any(n.startswith("iou-wrk") for n in names), f"no io-wq worker: {names}")
        before = cpu_ticks(m.p.pid)
        time.sleep(1.0)
        used = cpu_ticks(m.p.pid) - before
        expect(used <= 2, f"idle mux used {used} ticks in 1 s")
        expect(tasks(m.p.pid) == names, "still one thread")
    finally:
        for fd in fds:
            os.close(fd)
    # Every writer gone now: still no spinning at EOF.
    time.sleep(0.3)
    before = cpu_ticks(m.p.pid)
    time.sleep(1.0)
    used = cpu_ticks(m.p.pid) - before
    expect(used <= 2, f"mux with writers gone used {used} ticks in 1 s (spinning at EOF?)")
    m.p.send_signal(signal.SIGTERM)
    expect(m.wait() == -signal.SIGTERM, "dies of SIGTERM")


def main():
    sys.exit(run_cases(cases_of(globals()), sys.argv[2:],
                       lambda: tempfile.TemporaryDirectory(prefix="afifo-mux-")))


if __name__ == "__main__":
    main()
