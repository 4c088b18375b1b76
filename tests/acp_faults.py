#!/usr/bin/env python3
"""Fault tests of acp, each asserting what is left on disk (and where GNU cp
is the reference, comparing with cp run the same way):

  ENOSPC on a small tmpfs (root), SIGINT and SIGKILL in the middle of a large
  file and of a large tree, an unreadable file and directory inside a tree
  (as nobody), a source removed and a source truncated during the copy, a
  destination directory removed during the copy, a destination whose close
  fails.

"In the middle" is made certain without timing: the copy is watched until
some but not all of it is done, then stopped with SIGSTOP, the fault is
applied, and it is continued (or signalled). Nothing here measures time;
every wait is bounded so that a broken acp fails the test instead of
hanging it. Usage: acp_faults.py path/to/acp
"""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

ACP = os.path.realpath(sys.argv[1])
SHIM = os.path.realpath(sys.argv[2]) if len(sys.argv) > 2 else None  # tests/programs/fail_close.cpp
CAP = 2  # acp::kIowqWorkers, per pool (bounded and unbounded)
FAILS = 0
PASSES = 0
MiB = 1 << 20


def check(name, got, want):
    global FAILS, PASSES
    if got == want:
        PASSES += 1
    else:
        FAILS += 1
        print(f"FAIL: {name}: got {got!r}, want {want!r}")


def skip(what, why):
    print(f"skip: {what}: {why}")


# --- content: every block names its file and offset, so a misplaced or
# partial block never compares equal.
BLOCK = os.urandom(64 << 10)


def content(tag, size):
    out = bytearray()
    off = 0
    while off < size:
        b = f"{tag}@{off}|".encode() + BLOCK
        out += b[: min(len(BLOCK), size - off)]
        off += len(BLOCK)
    return bytes(out)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_tree(root, dirs, files, size):
    """dirs x files files of `size` bytes; returns {relative path: bytes}."""
    want = {}
    for d in range(dirs):
        os.makedirs(f"{root}/d{d:03}")
        for i in range(files):
            rel = f"d{d:03}/f{i:04}"
            data = content(rel, size)
            write(f"{root}/{rel}", data)
            want[rel] = data
    return want


def regular_files(root):
    out = {}
    for dp, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(dp, f)
            try:
                mode = os.lstat(p).st_mode
            except FileNotFoundError:
                continue  # its staged directory was put in place meanwhile
            if stat.S_ISREG(mode):
                out[os.path.relpath(p, root)] = p
    return out


def hidden_left(root):
    """acp's hidden names (temporaries, staged directories, --atomic-tree)
    anywhere under root."""
    n = 0
    for dp, ds, fs in os.walk(root):
        n += sum(1 for x in ds + fs if x.startswith(".acp-"))
    return n


def hidden_files_left(root):
    """Hidden names that are not directories (a staged directory may stay
    behind a SIGKILL; a file's temporary never does: it is O_TMPFILE)."""
    return [os.path.join(dp, x) for dp, ds, fs in os.walk(root) for x in fs if x.startswith(".acp-")]


def final_name(name):
    """The name a staged directory (.acp-PID-N.NAME) is to be put in place as."""
    return re.sub(r"^\.acp-\d+-\d+\.", "", name)


def under_final_names(files):
    """The files of regular_files() whose path has no hidden part."""
    return {r: p for r, p in files.items() if not any(x.startswith(".acp-") for x in r.split("/"))}


def default_sigint():
    # A child of a non-interactive shell may inherit SIGINT ignored; acp
    # keeps an ignored signal ignored, so give it the default back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


STARTED = []  # every acp started, so none is left stopped if a case raises


def start(cmd, **kw):
    p = subprocess.Popen(
        cmd, preexec_fn=default_sigint, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw
    )
    STARTED.append(p)
    return p


def finish(p, timeout=120):
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return "timeout", err.decode(errors="replace")
    return p.returncode, err.decode(errors="replace")


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def threads(pid):
    """(user threads, io-wq workers): a worker has PF_IO_WORKER (0x10) set."""
    users = workers = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                flags = int(f.read().rsplit(")", 1)[1].split()[6])
        except OSError:
            continue
        if flags & 0x10:
            workers += 1
        else:
            users += 1
    return users, workers


def stop_midway(p, progress, total):
    """Waits until 0 < progress() < total, then SIGSTOPs p. True when p is
    stopped midway; False when it ended first (the caller retries)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return False
        done = progress()
        if 0 < done < total:
            os.kill(p.pid, signal.SIGSTOP)
            for _ in range(2000):
                if p.poll() is not None or proc_state(p.pid) == "T":
                    break
                time.sleep(0.001)
            if p.poll() is not None:
                return False
            if progress() < total:
                return True
            os.kill(p.pid, signal.SIGCONT)
        time.sleep(0.0005)
    return False


def tmpfile_progress(pid, dest_dir):
    """Bytes written so far into the file acp has in progress in dest_dir
    (an O_TMPFILE shows in /proc/PID/fd as 'dest_dir/#ino (deleted)')."""

    def f():
        best = 0
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            return 0
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith(dest_dir + "/") and (
                    "(deleted)" in link or "/.acp-" in link
                ):
                    best = max(best, os.stat(f"/proc/{pid}/fd/{fd}").st_size)
            except OSError:
                pass
        return best

    return f


def file_progress(path):
    def f():
        try:
            return os.stat(path).st_size
        except OSError:
            return 0

    return f


def final_count_progress(root):
    def f():
        return len(under_final_names(regular_files(root))) if os.path.isdir(root) else 0

    return f


def midway(cmd, progress_of, total, reset=None, tries=5):
    """Starts cmd until it is caught midway (a fast machine may finish a
    run before it is seen); returns the stopped process or None. reset()
    puts the destination back before each try."""
    for _ in range(tries):
        if reset:
            reset()
        p = start(cmd)
        if stop_midway(p, progress_of(p), total):
            return p
        finish(p)
    return None


def rm(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


# ---------------------------------------------------------------------------
def test_signal_large_file(T):
    big = f"{T}/big"
    data = content("big", 512 * MiB)
    write(big, data)
    out = f"{T}/lf"
    os.mkdir(out)
    for sig, want in ((signal.SIGINT, -2), (signal.SIGKILL, -9)):
        name = signal.Signals(sig).name
        # A new file, and a file replacing an existing one (which must stay whole).
        for existing in (False, True):
            dst = f"{out}/copy"

            def reset():
                rm(dst)
                if existing:
                    write(dst, b"the old content\n")

            reset()
            before = sorted(os.listdir(out))
            p = midway([ACP, big, dst], lambda p: tmpfile_progress(p.pid, out), len(data), reset)
            what = f"{name} mid large file{' over an existing one' if existing else ''}"
            if p is None:
                check(f"{what}: caught midway", False, True)
                continue
            os.kill(p.pid, sig)
            os.kill(p.pid, signal.SIGCONT)
            rc, err = finish(p)
            check(f"{what}: dies of {name}", rc, want)
            check(f"{what}: no message", err if sig == signal.SIGKILL else err.strip(), "")
            if existing:
                check(f"{what}: the old file untouched", read(dst), b"the old content\n")
            else:
                check(f"{what}: no file under the final name", os.path.lexists(dst), False)
            check(f"{what}: directory as before (no temporary)", sorted(os.listdir(out)), before)
    rm(big)


def test_signal_large_tree(T):
    src = f"{T}/tsrc"
    want = make_tree(src, 10, 300, 32 << 10)  # 3000 files, 94 MiB
    for sig, rcwant in ((signal.SIGINT, -2), (signal.SIGKILL, -9)):
        name = signal.Signals(sig).name
        dst = f"{T}/tdst-{name}"
        # Midway: some directories complete (in place), not all.
        p = midway([ACP, "-r", src, dst], lambda p: final_count_progress(dst), len(want),
                   lambda: rm(dst))
        what = f"{name} mid tree"
        if p is None:
            check(f"{what}: caught midway", False, True)
            continue
        if sig == signal.SIGINT:
            u, w = threads(p.pid)
            check(f"{what}: one user thread", u, 1)
            check(f"{what}: io-wq workers within the cap (2 per pool)", w <= 2 * CAP, True)
        os.kill(p.pid, sig)
        os.kill(p.pid, signal.SIGCONT)
        rc, err = finish(p)
        check(f"{what}: dies of {name}", rc, rcwant)
        got = under_final_names(regular_files(dst))
        check(f"{what}: stopped midway", 0 < len(got) < len(want), True)
        bad = [r for r, path in got.items() if want.get(r) != read(path)]
        check(f"{what}: every file under its final name is complete", bad, [])
        if sig == signal.SIGINT:
            # Its staged directories put in place, with their complete files.
            check(f"{what}: no temporary left", hidden_left(dst), 0)
            check(f"{what}: no message", err.strip(), "")
        else:
            # The directories being filled stay under their hidden names.
            check(f"{what}: no temporary file left", hidden_files_left(dst), [])
            check(f"{what}: hidden directories only for those being filled",
                  hidden_left(dst) < 10, True)
    rm(src)


def test_source_removed_and_truncated(T):
    """cp keeps copying from the open file when its source is removed,
    copies what is there when it is truncated, and copies to the end when
    it grows: acp too, and the copy appears whole (the removal, the growth)
    or as the truncated file (the truncation)."""
    out = f"{T}/st"
    os.mkdir(out)
    size = 512 * MiB
    data = content("st", size)
    extra = content("grown", 3 * MiB)
    for fault in ("removed", "truncated above", "truncated below", "grown"):
        results = {}
        for tool in ("cp", "acp"):
            src = f"{out}/src"
            dst = f"{out}/dst-{tool}"
            cmd = ["cp" if tool == "cp" else ACP, src, dst]
            prog = (lambda p: file_progress(dst)) if tool == "cp" else (
                lambda p: tmpfile_progress(p.pid, out))
            p = midway(cmd, prog, size, lambda: (rm(dst), write(src, data)))
            if p is None:
                check(f"source {fault} ({tool}): caught midway", False, True)
                continue
            at = prog(p)()
            cut = None
            if fault == "removed":
                os.unlink(src)
            elif fault == "grown":
                with open(src, "ab") as f:  # a log written to as it is copied
                    f.write(extra)
            else:
                # Above: past what is copied (the copy ends there); below:
                # under it (what was copied stays, as cp's does).
                cut = (at + (size - at) // 2) if fault == "truncated above" else at // 2
                os.truncate(src, cut)
            os.kill(p.pid, signal.SIGCONT)
            rc, err = finish(p)
            got = read(dst) if os.path.exists(dst) else None
            results[tool] = (rc, err.replace("cp: ", "").replace("acp: ", ""))
            what = f"source {fault} mid copy ({tool})"
            check(f"{what}: exit 0 as cp", rc, 0)
            if fault == "removed":
                check(f"{what}: the copy is whole", got == data, True)
            elif fault == "grown":
                check(f"{what}: the copy has what was appended", got == data + extra, True)
            elif fault == "truncated above":
                check(f"{what}: the copy is the truncated file", got == data[:cut], True)
            else:
                check(f"{what}: the copy is a prefix at least as long as the file",
                      got is not None and len(got) >= cut and got == data[: len(got)], True)
            rm(dst)
            rm(src)
        if len(results) == 2:
            check(f"source {fault}: acp as cp (exit, messages)", results["acp"], results["cp"])
    check("source faults: no temporary left", hidden_left(out), 0)
    rm(out)


def test_dest_dir_removed(T):
    src = f"{T}/rsrc"
    want = make_tree(src, 4, 600, 16 << 10)
    dst = f"{T}/rdst"

    def current_dir():
        # The destination directory being filled (one at a time), under
        # its hidden name until its files are complete.
        for d in sorted(os.listdir(dst)) if os.path.isdir(dst) else []:
            n = len(os.listdir(f"{dst}/{d}"))
            if 0 < n < 500:  # room for the files in flight to land while stopped
                return d
        return None

    def progress(p):
        return lambda: 1 if current_dir() else 0

    p = midway([ACP, "-r", src, dst], progress, 2, lambda: rm(dst))
    if p is None:
        check("destination dir removed: caught midway", False, True)
        return
    gone = current_dir()
    if gone is None:
        os.kill(p.pid, signal.SIGCONT)
        finish(p)
        check("destination dir removed: a directory half filled when stopped", gone, "one")
        return
    # SIGSTOP stops acp's thread, not the io-wq workers running operations
    # it had already submitted: a link may still land in the directory while
    # it is removed (seen: ENOTEMPTY in CI). Nothing new is submitted while
    # stopped, so a few tries see the directory empty.
    for attempt in range(100):
        try:
            shutil.rmtree(f"{dst}/{gone}")
            break
        except OSError:
            if attempt == 99:
                raise
            time.sleep(0.02)
    os.kill(p.pid, signal.SIGCONT)
    rc, err = finish(p)
    gone = final_name(gone)
    what = "destination dir removed mid copy"
    if os.environ.get("ACP_FAULTS_DEBUG"):
        print(err)
    check(f"{what}: exit 1", rc, 1)
    lines = err.splitlines()
    check(f"{what}: errors name only the removed directory",
          [l for l in lines if f"'{dst}/{gone}/" not in l], [])
    check(f"{what}: one error per file not copied",
          all(l.startswith("acp: cannot create regular file") and
              l.endswith(": No such file or directory") for l in lines) and len(lines) > 0, True)
    check(f"{what}: the removed directory is not re-created", os.path.exists(f"{dst}/{gone}"), False)
    got = regular_files(dst)
    others = {r: d for r, d in want.items() if not r.startswith(gone + "/")}
    check(f"{what}: the other directories complete",
          sorted(got) == sorted(others) and all(read(got[r]) == d for r, d in others.items()), True)
    check(f"{what}: no temporary left", hidden_left(dst), 0)
    rm(src)
    rm(dst)


def test_unreadable(T):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip("unreadable file/dir in a tree", "needs root (to run as nobody) and setpriv")
        return
    u = f"{T}/u"
    os.makedirs(f"{u}/src/closed")
    os.makedirs(f"{u}/src/open")
    os.chmod(u, 0o777)
    write(f"{u}/src/open/a", b"a\n")
    write(f"{u}/src/secret", b"s\n")
    write(f"{u}/src/closed/c", b"c\n")
    for p in (f"{u}/src/open", f"{u}/src/open/a", f"{u}/src"):
        os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
    os.chmod(f"{u}/src/secret", 0)
    os.chmod(f"{u}/src/closed", 0)
    os.utime(f"{u}/src/closed", (978307200, 978307200))
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    res = {}
    for opt in ("-r", "-a"):
        for tool in ("cp", "acp"):
            dst = f"{u}/{tool}{opt}"
            p = start(nobody + ["cp" if tool == "cp" else ACP, opt, f"{u}/src", dst])
            rc, err = finish(p)
            listing = []
            for dp, ds, fs in os.walk(dst):
                for x in sorted(ds + fs):
                    st = os.lstat(os.path.join(dp, x))
                    rel = os.path.relpath(os.path.join(dp, x), dst)
                    mt = int(st.st_mtime) if opt == "-a" else 0
                    listing.append((rel, oct(st.st_mode), mt))
            res[tool] = (rc, sorted(err.replace(f"{u}/{tool}{opt}", "DST").replace("acp: ", "cp: ")
                                    .splitlines()), sorted(listing))
            check(f"unreadable in tree {opt} ({tool}): exit 1", rc, 1)
            check(f"unreadable in tree {opt} ({tool}): no file for the unreadable one",
                  os.path.exists(f"{dst}/secret"), False)
            check(f"unreadable in tree {opt} ({tool}): the rest copied", read(f"{dst}/open/a"), b"a\n")
            check(f"unreadable in tree {opt} ({tool}): no temporary", hidden_left(dst), 0)
        check(f"unreadable file and dir in tree {opt}: acp as cp (exit, messages, tree left)",
              res["acp"], res["cp"])


def test_enospc(T):
    if os.geteuid() != 0:
        skip("ENOSPC", "needs root to mount a small tmpfs")
        return
    mnt = f"{T}/small"
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip("ENOSPC", f"cannot mount a tmpfs: {r.stderr.strip()}")
        return
    try:
        write(f"{mnt}/kept", b"fine\n")
        write(f"{mnt}/old", b"the old content\n")

        def used():
            s = os.statvfs(mnt)
            return (s.f_blocks - s.f_bfree) * s.f_frsize

        base = used()
        big = f"{T}/enospc-big"
        write(big, content("enospc", 8 * MiB))
        for dst, what in ((f"{mnt}/big", "new file"), (f"{mnt}/old", "over an existing file")):
            p = start([ACP, big, dst])
            rc, err = finish(p)
            check(f"ENOSPC {what}: exit 1", rc, 1)
            # cp's words for it (cp leaves its partial file: removed here).
            cp = subprocess.run(["cp", big, dst], capture_output=True, text=True)
            if os.path.basename(dst) == "old":
                write(dst, b"the old content\n")
            else:
                rm(dst)
            check(f"ENOSPC {what}: one clear line, as cp's", err.splitlines(),
                  ["a" + l for l in cp.stderr.splitlines()])
            check(f"ENOSPC {what}: cp fails too", cp.returncode, 1)
            check(f"ENOSPC {what}: nothing left but what was there", sorted(os.listdir(mnt)),
                  ["kept", "old"])
            check(f"ENOSPC {what}: the old file untouched", read(f"{mnt}/old"), b"the old content\n")
            check(f"ENOSPC {what}: space given back", used(), base)
        # A tree that does not fit: what fits is whole, the rest is reported.
        src = f"{T}/enospc-tree"
        want = make_tree(src, 2, 12, 256 << 10)  # 6 MiB into what is left of 4
        p = start([ACP, "-r", src, f"{mnt}/tree"])
        rc, err = finish(p)
        check("ENOSPC tree: exit 1", rc, 1)
        lines = err.splitlines()
        check("ENOSPC tree: every error line says so",
              len(lines) > 0 and all(l.endswith("No space left on device") for l in lines), True)
        got = regular_files(f"{mnt}/tree")
        check("ENOSPC tree: some files copied", len(got) > 0, True)
        check("ENOSPC tree: one error per file not copied", len(got) + len(lines), len(want))
        check("ENOSPC tree: every file there is whole",
              [r for r, p in got.items() if read(p) != want[r]], [])
        check("ENOSPC tree: no temporary", hidden_left(mnt), 0)
        rm(src)
        rm(big)
    finally:
        if subprocess.run(["umount", mnt]).returncode != 0:
            subprocess.run(["umount", "-l", mnt])


def test_close_fails(T):
    """A write error that shows only at close (NFS and FUSE flush there):
    the shim fails close() of files under a path holding FAILCLOSE with
    EIO. It sees only a program's own close() calls, and io_uring closes
    in the kernel: acp runs on the readiness backend here."""
    if SHIM is None:
        skip("close fails", "no shim given")
        return
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = dict(os.environ, AIO_BACKEND="epoll", LD_PRELOAD=SHIM,
               ASAN_OPTIONS=(asan + ":" if asan else "") + "verify_asan_link_order=0")
    base = os.path.join(T, "close")
    src = os.path.join(base, "src")
    make_tree(src, 2, 3, 100 << 10)

    def run(cmd):
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return p.returncode, p.stderr.decode(errors="replace")

    # A new tree: its files are made in staged directories under their own
    # names, and closed before they are put in place, so a failed close
    # leaves nothing (cp would leave each file, written, under its name).
    dst = os.path.join(base, "treeFAILCLOSE")
    rc, err = run([ACP, "-r", src, dst])
    check("close fails, new tree: exit code", rc, 1)
    check("close fails, new tree: one error a file",
          sorted(l for l in err.splitlines() if "failed to close" in l),
          sorted(f"acp: failed to close '{dst}/d{d:03}/f{i:04}': Input/output error"
                 for d in range(2) for i in range(3)))
    check("close fails, new tree: no file left", sorted(regular_files(dst)), [])
    check("close fails, new tree: directories in place", sorted(os.listdir(dst)), ["d000", "d001"])
    check("close fails, new tree: no hidden name left", hidden_left(dst), 0)

    # Into an existing directory: an O_TMPFILE, linked in before its close
    # (its fd is what is linked), so the file stays, as cp leaves it; same
    # message and exit code as cp run the same way.
    got = {}
    for tool, prog in (("cp", "cp"), ("acp", ACP)):
        into = os.path.join(base, f"{tool}.intoFAILCLOSE")
        os.makedirs(into)
        rc, err = run([prog, os.path.join(src, "d000", "f0000"), into + "/"])
        got[tool] = (rc, err.replace(f"{tool}: ", "PROG: ").replace(f"{tool}.into", "X.into"),
                     read(os.path.join(into, "f0000")) == read(os.path.join(src, "d000", "f0000")))
    check("close fails, existing dir: cp fails under the shim (the shim works)", got["cp"][0], 1)
    check("close fails, existing dir: as cp (exit code, message, file left whole)", got["acp"], got["cp"])


def main():
    T = tempfile.mkdtemp(prefix="acp-faults.", dir=os.getcwd())
    os.chmod(T, 0o755)  # searchable by nobody (the unreadable case)
    try:
        tests = [test_enospc, test_unreadable, test_signal_large_file, test_signal_large_tree,
                 test_source_removed_and_truncated, test_dest_dir_removed, test_close_fails]
        only = os.environ.get("ACP_FAULTS_ONLY")
        for t in tests:
            if only and only not in t.__name__:
                continue
            t(T)
    finally:
        # A case that raised may have left its acp stopped (SIGSTOP): kill it.
        for p in STARTED:
            if p.poll() is None:
                p.kill()
                p.wait()
        for dp, ds, _ in os.walk(T):
            for d in ds:
                try:
                    os.chmod(os.path.join(dp, d), 0o755)
                except OSError:
                    pass
        shutil.rmtree(T, ignore_errors=True)
    print(f"acp faults: {PASSES} passed, {FAILS} failed")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
