#!/usr/bin/env python3
"""End-to-end tests of acp --progress: the plain lines a script reads, the
bar on a terminal (a pty here), and the rule that no ANSI code is written
when stderr is not a terminal or NO_COLOR is set. A FIFO source held open
by this program keeps the copy going for as many redraws as a test needs,
so nothing depends on how fast the machine is; every wait is bounded.
Usage: acp_progress.py path/to/acp"""
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ACP = os.path.realpath(sys.argv[1])
FAILS = 0
PASSES = 0
PLAIN = re.compile(r"^bytes=(\d+)/(\d+|-) files=(\d+)/(\d+|-) rate=(\d+) eta=(\d+|-)$")


def check(name, got, want):
    global FAILS, PASSES
    if got == want:
        PASSES += 1
    else:
        FAILS += 1
        print(f"FAIL: {name}: got {got!r}, want {want!r}")


def default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_until(fd, buf, pred, timeout=60):
    """Reads fd into buf (bytearray) until pred(buf) or EOF or the bound."""
    deadline = time.monotonic() + timeout
    while not pred(buf) and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # a pty's other side closed: EIO
                return False
            if not chunk:
                return False
            buf += chunk
    return pred(buf)


def held_fifo_copy(T, name, env, stderr_fd, extra=(), until=None):
    """acp --progress... copying a FIFO that this program feeds, a block at a
    time, until `until()` says enough was shown; returns (process, bytes fed)."""
    fifo = f"{T}/{name}.fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen([ACP, *extra, fifo, f"{T}/{name}.out"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=stderr_fd, env=env,
                         preexec_fn=default_sigint)
    w = os.open(fifo, os.O_WRONLY)
    fed = 0
    block = b"x" * 65536
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not until():
        os.write(w, block)
        fed += len(block)
        time.sleep(0.05)
    os.close(w)
    return p, fed


def test_plain_lines_for_scripts(T):
    # A tree: the last line has the totals reached and eta=0.
    src = f"{T}/tree"
    for d in range(3):
        os.makedirs(f"{src}/d{d}")
        for i in range(20):
            with open(f"{src}/d{d}/f{i}", "wb") as f:
                f.write(b"y" * (1000 * (i + 1)))
    total = 3 * sum(1000 * (i + 1) for i in range(20))
    for opt in ("--progress=plain", "--progress"):  # a bar with stderr piped: plain lines
        r = subprocess.run([ACP, "-r", opt, src, f"{T}/copy{opt[-5:]}"], capture_output=True)
        lines = r.stderr.decode().splitlines()
        check(f"{opt} piped: exit 0", r.returncode, 0)
        check(f"{opt} piped: every line is key=value fields",
              [l for l in lines if not PLAIN.match(l)], [])
        check(f"{opt} piped: no ANSI, no carriage return",
              (b"\x1b" in r.stderr, b"\r" in r.stderr), (False, False))
        last = PLAIN.match(lines[-1]) if lines else None
        check(f"{opt} piped: the last line has everything copied",
              last.groups()[:4] + (last.group(6),) if last else None,
              (str(total), str(total), "60", "60", "0"))
        check(f"{opt} piped: nothing on stdout", r.stdout, b"")

    # A copy that lasts: a line a second, figures only growing, then the last.
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    buf = bytearray()
    p, fed = held_fifo_copy(T, "plain", dict(os.environ), wfd, ["--progress=plain"],
                            until=lambda: read_until(rfd, buf, lambda b: b.count(b"\n") >= 2,
                                                     timeout=0.01))
    os.close(wfd)
    rc = p.wait(timeout=60)
    read_until(rfd, buf, lambda b: False, timeout=5)
    os.close(rfd)
    lines = buf.decode().splitlines()
    check("plain: exit 0", rc, 0)
    check("plain: a line each second while it runs, and the last", len(lines) >= 3, True)
    m = [PLAIN.match(l) for l in lines]
    check("plain: every line is key=value fields", all(m), True)
    if all(m):
        b = [int(x.group(1)) for x in m]
        check("plain: bytes only grow", b, sorted(b))
        check("plain: the last line counts every byte fed, files 1/1, no byte total (a FIFO)",
              m[-1].group(1, 2, 3, 4), (str(fed), "-", "1", "1"))


def bar_run(T, name, no_color):
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    master, slave = pty.openpty()
    buf = bytearray()
    p, fed = held_fifo_copy(T, name, env, slave, ["--progress"],
                            until=lambda: read_until(master, buf, lambda b: b.count(b"\r") >= 3,
                                                     timeout=0.01))
    os.close(slave)
    rc = p.wait(timeout=60)
    read_until(master, buf, lambda b: False, timeout=5)
    os.close(master)
    return rc, bytes(buf), fed


def test_bar_on_a_terminal(T):
    rc, out, fed = bar_run(T, "bar", no_color=False)
    check("bar: exit 0", rc, 0)
    check("bar: redrawn in place (\\r), erased to the line's end (ESC[K)",
          (out.count(b"\r") >= 3, b"\x1b[K" in out), (True, True))
    check("bar: the last picture ends with a newline", out.endswith(b"\n"), True)
    last = out.rstrip(b"\r\n").rsplit(b"\r", 1)[-1].decode()  # the pty writes \n as \r\n
    check("bar: the last picture has the files and the time taken",
          ("1 / 1 files" in last, " in 0:" in last), (True, True))

    rc, out, fed = bar_run(T, "nocolor", no_color=True)
    check("bar with NO_COLOR: exit 0", rc, 0)
    check("bar with NO_COLOR: redrawn in place", out.count(b"\r") >= 3, True)
    check("bar with NO_COLOR: no escape code at all", b"\x1b" in out, False)


def screen_lines(data):
    """The lines a terminal shows after `data`: \\r goes back to the line's
    start, text overwrites what is there, ESC[K erases to the line's end."""
    lines, cur, col, i = [], [], 0, 0
    text = data.decode(errors="replace")
    while i < len(text):
        ch = text[i]
        if text.startswith("\x1b[K", i):
            del cur[col:]
            i += 3
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cur).rstrip(" "))
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = ch
            else:
                cur.append(ch)
            col += 1
        i += 1
    lines.append("".join(cur).rstrip(" "))
    return lines


def test_verbose_and_messages_above_the_bar(T, no_color):
    # -v lines (stdout) and messages (stderr) on the terminal the bar is
    # on: each on a line of its own, above the bar, none glued to it. Two
    # FIFOs fed by this program: a's -v line and b's error come after bars
    # were drawn, whatever the machine's speed.
    tag = "nocolor" if no_color else "ansi"
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    src, out = f"{T}/v-{tag}", f"{T}/vout-{tag}"
    os.makedirs(src)
    os.makedirs(out)
    a, b = f"{src}/a.fifo", f"{src}/b.fifo"
    os.mkfifo(a)
    os.mkfifo(b)
    master, slave = pty.openpty()
    p = subprocess.Popen([ACP, "-v", "--progress", a, b, out], stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave, env=env, preexec_fn=default_sigint)
    os.close(slave)
    buf = bytearray()
    try:
        wa = os.open(a, os.O_WRONLY)  # returns once acp has opened it (past its checks)
        wb = os.open(b, os.O_WRONLY)
        for w, more in ((wa, 3), (wb, 3)):
            want = buf.count(b"\r") + more
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and buf.count(b"\r") < want:
                os.write(w, b"v" * 4096)
                read_until(master, buf, lambda b: b.count(b"\r") >= want, timeout=0.05)
            if w == wb:
                os.mkdir(f"{out}/b.fifo")  # b's copy cannot be placed: a message
            os.close(w)
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    read_until(master, buf, lambda b: False, timeout=2)
    os.close(master)
    lines = [l for l in screen_lines(bytes(buf)) if l]
    verbose = f"'{a}' -> '{out}/a.fifo'"
    message = f"acp: cannot overwrite directory '{out}/b.fifo' with non-directory"
    check(f"-v with a bar ({tag}): exit 1 (b failed)", rc, 1)
    check(f"-v with a bar ({tag}): bars were drawn before a's line", bytes(buf).find(b"files")
          < bytes(buf).find(verbose.encode()), True)
    check(f"-v with a bar ({tag}): the -v line is a line of its own", lines.count(verbose), 1)
    check(f"-v with a bar ({tag}): the message is a line of its own", lines.count(message), 1)
    check(f"-v with a bar ({tag}): no line holds a bar fragment and a -v line or message",
          [l for l in lines if "files" in l and ("->" in l or "acp:" in l)], [])
    order = [i for i, l in enumerate(lines) if l in (verbose, message)]
    check(f"-v with a bar ({tag}): the -v line, then the message, then the last bar (1 file placed)",
          (order == sorted(order) and len(order) == 2 and order[-1] < len(lines) - 1,
           "1 / 2 files" in lines[-1]), (True, True))


def test_sigint_ends_the_bar_line(T):
    master, slave = pty.openpty()
    buf = bytearray()
    fifo = f"{T}/int.fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen([ACP, "--progress", fifo, f"{T}/int.out"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave, preexec_fn=default_sigint)
    w = os.open(fifo, os.O_WRONLY)
    os.write(w, b"z" * 65536)
    read_until(master, buf, lambda b: b.count(b"\r") >= 2)
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=60)
    os.close(slave)
    os.close(w)
    read_until(master, buf, lambda b: False, timeout=2)
    os.close(master)
    check("SIGINT with a bar: dies of SIGINT", rc, -2)
    check("SIGINT with a bar: the line is ended", bytes(buf).endswith(b"\n"), True)
    check("SIGINT with a bar: no file under the final name", os.path.exists(f"{T}/int.out"), False)


def main():
    T = tempfile.mkdtemp(prefix="acp-progress.", dir=os.getcwd())
    try:
        test_plain_lines_for_scripts(T)
        test_bar_on_a_terminal(T)
        test_sigint_ends_the_bar_line(T)
        test_verbose_and_messages_above_the_bar(T, no_color=False)
        test_verbose_and_messages_above_the_bar(T, no_color=True)
    finally:
        shutil.rmtree(T, ignore_errors=True)
    print(f"acp progress: {PASSES} passed, {FAILS} failed")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
