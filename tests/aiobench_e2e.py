#!/usr/bin/env python3
"""End-to-end runs of the real aiobench binary at small N.

Usage: aiobench_e2e.py AIOBENCH CASE. Each case asserts outcomes (exit codes,
counts of threads, fds and invisible writes, the JSON schema), never timings.
"""
import json
import os
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
CASE = sys.argv[2]
EXTRA = sys.argv[3:]  # denied: the deny_uring helper


def run(*args, env=None, check=True):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=240)
    if check and p.returncode != 0:
        sys.exit(f"aiobench {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def run_json(*args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        p = run(*args, "--json", out)
        with open(out) as f:
            return json.load(f), p


def uring_measured(r):
    """False (with a skip line) when io_uring was unavailable for this row:
    another test on this machine may set kernel.io_uring_disabled=2 for a
    moment. The row then says so, and its uring checks cannot be made."""
    if r.get("unavailable"):
        print(f"skip: uring checks of {r['scenario']}: {r['note']}")
        return False
    return True


def row(doc, scenario, strategy, variant=""):
    for r in doc["results"]:
        if r["scenario"] == scenario and r["strategy"] == strategy and r["variant"] == variant:
            return r
    sys.exit(f"no row {scenario}/{strategy}/{variant}")


def expect(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def case_cli():
    expect(run("--help").returncode == 0, "--help exits 0")
    v = run("--version")
    expect(v.returncode == 0 and "aiobench" in v.stdout, "--version exits 0 and names the tool")
    for bad in (["--scenario", "nope"], ["--strategy", "tokio"], ["--depth", "0"],
                ["--no-such-option"], ["--pin", "x"], ["--strategy", "threadpool"], ["--reps", "0"],
                ["--pool-job", "maybe"]):
        p = run(*bad, check=False)
        expect(p.returncode == 2, f"{bad} exits 2 (got {p.returncode})")
        lines = p.stderr.strip().splitlines()
        expect(len(lines) == 1 and lines[0].startswith("aiobench: "), f"{bad}: one-line message: {p.stderr!r}")
        expect(p.stdout == "", f"{bad}: nothing on stdout")


def case_cancel_storm():
    doc, _ = run_json("-s", "cancel-storm", "-S", "uring,pool-per-attempt,tokio-file,epoll", "-r", "200")
    tp = row(doc, "cancel-storm", "pool-per-attempt")["figures"]
    tf = row(doc, "cancel-storm", "tokio-file")["figures"]
    urow = row(doc, "cancel-storm", "uring")
    u = urow["figures"]
    e = row(doc, "cancel-storm", "epoll")["figures"]
    # The writer writes a byte every 25 ms, so almost all 200 reads lose and
    # each keeps a pool thread.
    expect(tp["user_threads_peak"] > 100, f"pool-per-attempt leaks threads: {tp}")
    expect(tp["user_threads_end"] > 100, f"pool-per-attempt threads stay blocked: {tp}")
    expect(tp["reads_abandoned"] > 100, f"pool-per-attempt abandons reads: {tp}")
    if uring_measured(urow):
        expect(u["user_threads_peak"] == 1 and u["user_threads_end"] == 1, f"uring: one thread: {u}")
        expect(u["iowq_workers_peak"] == 0, f"uring: FIFO reads need no io-wq worker: {u}")
        expect(u["reads_abandoned"] == 0, f"uring abandons nothing: {u}")
        expect(u["reads_won"] + u["reads_cancelled"] == 200, f"uring: every round accounted: {u}")
        expect(u["fds_end"] == u["fds_start"], f"uring: fds back: {u}")
        expect(u["rss_kib_end"] - u["rss_kib_start"] < 4096, f"uring: RSS back: {u}")
    expect(e["user_threads_peak"] == 1, f"epoll: one thread: {e}")
    # One File across select!: the lost read stays in flight, the next round
    # takes its bytes; nothing lost, at most one thread in a read.
    expect(tf["reads_abandoned"] == 0 and tf["bytes_lost"] == 0, f"tokio-file loses nothing: {tf}")
    expect(tf["reads_won"] + tf["reads_resumed"] == 200, f"tokio-file: every round accounted: {tf}")
    expect(tf["pool_running_end"] <= 1 and tf["user_threads_peak"] <= 3,
           f"tokio-file: one stuck thread, no growth: {tf}")


def case_write_visibility():
    doc, _ = run_json("-s", "write-visibility", "--vis-rounds", "16", "--write-size", "16384")
    queued = row(doc, "write-visibility", "tokio-file")["figures"]
    for name in ("uring", "pool-per-attempt", "epoll", "sync"):
        r = row(doc, "write-visibility", name)
        if name == "uring" and not uring_measured(r):
            continue
        f = r["figures"]
        expect(f["rounds"] == 16 and f["not_visible"] == 0 and f["returned_before_written"] == 0,
               f"{name}: done means done: {f}")
    # 16 MiB writes are 8 pieces of 2 MiB: write_all returns with the last
    # piece queued. Counted at the return (a 2 MiB write still running);
    # whether a size check racing it sees the bytes depends on scheduling,
    # so not_visible is reported, not asserted.
    expect(queued["rounds"] == 16 and queued["returned_before_written"] > 0,
           f"tokio-file's early completion is caught: {queued}")
    expect(queued["not_visible"] <= queued["returned_before_written"],
           f"only a write still running can be invisible: {queued}")


def case_shutdown():
    # A generous wait: a loaded machine must not make uring's exit look
    # blocked (the test asserts who exits, never how fast).
    doc, _ = run_json("-s", "shutdown", "--shutdown-wait", "3")
    for name, blocked in (("uring", 0), ("epoll", 0), ("pool-per-attempt", 1), ("tokio-file", 1),
                          ("sync", 1)):
        r = row(doc, "shutdown", name)
        if name == "uring" and not uring_measured(r):
            continue
        f = r["figures"]
        expect(f["blocked"] == blocked, f"{name}: blocked should be {blocked}: {f}")
        expect(f["exit_ok"] == 1, f"{name}: exits 0 in the end: {f}")
    if uring_measured(row(doc, "shutdown", "uring")):
        expect(row(doc, "shutdown", "uring")["figures"]["user_threads_peak"] == 1, "uring: one thread")


SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "aiobench",
                      "aiobench.schema.json")


def check_schema(doc):
    # The JSON Schema shipped beside the tool (Debian: python3-jsonschema).
    try:
        import jsonschema
    except ImportError:
        sys.exit("FAILED: the jsonschema module is missing (apt install python3-jsonschema; "
                 "scripts/deps.sh lists it)")
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    expect(not errors, "the report matches aiobench.schema.json: " +
           "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]))
    # What a schema cannot say: every measured row reports its threads.
    expect(doc["host"]["liburing"] != "", "host facts filled")
    for r in doc["results"]:
        if not r["skipped"]:
            for k in ("user_threads_peak", "iowq_workers_peak"):
                expect(k in r["figures"], f"{r['scenario']}/{r['strategy']} reports {k}")


def case_schema_rejects():
    # The validator is real: a report with a figure that is a string, or an
    # unknown strategy, or no options, is refused.
    doc, _ = run_json("-s", "shutdown", "-S", "epoll", "--shutdown-wait", "0.1")
    check_schema(doc)
    import copy
    import jsonschema
    with open(SCHEMA) as f:
        v = jsonschema.Draft7Validator(json.load(f))
    bad = copy.deepcopy(doc)
    bad["results"][0]["figures"]["exit_ms"] = "fast"
    expect(not v.is_valid(bad), "a string figure is refused")
    bad = copy.deepcopy(doc)
    bad["results"][0]["strategy"] = "threadpool"
    expect(not v.is_valid(bad), "an unknown strategy is refused")
    bad = copy.deepcopy(doc)
    del bad["options"]["depths"]
    expect(not v.is_valid(bad), "options must record the depths")


def case_default_run():
    doc, p = run_json("--quick")
    check_schema(doc)
    # The choices are recorded, so a reader knows what was (not) measured.
    o = doc["options"]
    expect(o["scenarios"] == ["cancel-storm", "fifo-latency", "file-read", "write-visibility", "shutdown"]
           and o["strategies"] == ["uring", "uring-rings", "pool-per-attempt", "tokio-file", "epoll", "sync"]
           and o["depths"] == [1, 8] and o["modes"] == ["buffered"], f"options: {o}")
    scenarios = {r["scenario"] for r in doc["results"]}
    expect(scenarios == {"cancel-storm", "fifo-latency", "file-read", "write-visibility", "shutdown"},
           f"every scenario ran: {scenarios}")
    out = p.stdout
    for title in ("cancel-storm:", "fifo-latency:", "file-read:", "write-visibility:", "shutdown:",
                  "What the figures say:"):
        expect(title in out, f"table has {title!r}")
    expect("io-wq" in out, "the table shows io-wq workers")
    # Each scenario's table has a header and one line per strategy.
    for scen in ("cancel-storm", "fifo-latency", "shutdown"):
        block = out.split(scen + ":", 1)[1].split("\n\n", 1)[0].splitlines()
        names = [l.split()[0] for l in block[2:] if l.strip()]
        expect(block[1].startswith("strategy"), f"{scen}: header line")
        expect(sorted(names) == ["epoll", "pool-per-attempt", "sync", "tokio-file", "uring"],
               f"{scen}: rows {names}")
    expect("\x1b[" not in out and p.stderr == "", "no progress or colour when not on a TTY")
    for r in doc["results"]:
        expect(not r["failed"] and "failed" not in r["note"], f"no failure: {r}")
    fr = [r for r in doc["results"] if r["scenario"] == "file-read" and not r["skipped"]]
    # One ring per CPU beside the single ring, in file-read only, with its
    # threads counted (one per ring used).
    rings = [r for r in fr if r["strategy"] == "uring-rings"]
    for r in rings:
        f = r["figures"]
        expect(f["rings"] == min(doc["host"]["cpus"], f["depth"]) and f["user_threads_peak"] >= f["rings"],
               f"uring-rings: a thread per ring: {f}")
    expect(not any(r["strategy"] == "uring-rings" for r in doc["results"] if r["scenario"] != "file-read"),
           "uring-rings appears in file-read only")
    expect(len(fr) > 0 and all(r["figures"]["ops"] > 0 and r["figures"]["errors"] == 0 for r in fr),
           "file-read measured operations without errors")
    # Every measured point is the median of its repetitions, with the spread.
    for r in fr:
        f = r["figures"]
        expect(f["reps"] == doc["options"]["reps"] and f["reps"] >= 3, f"repetitions: {f}")
        for k in ("iops", "p50_us"):
            expect(f[k + "_min"] <= f[k] <= f[k + "_max"], f"{k}: median within its spread: {f}")
    for r in doc["results"]:
        if r["scenario"] == "fifo-latency":
            f = r["figures"]
            expect(f["chunks"] >= 3 and f["p50_us_min"] <= f["p50_us"] <= f["p50_us_max"],
                   f"fifo-latency: p50 over the chunks with its spread: {f}")


def case_interrupt():
    import signal
    import time
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.Popen([BIN, "-s", "cancel-storm,shutdown", "-r", "1000000", "--dir", d],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Interrupt a run under way (its test directory made), not one that
        # has not set up yet: only then does the clean-up below prove anything.
        for _ in range(600):
            if os.listdir(d) or p.poll() is not None:
                break
            time.sleep(0.05)
        expect(os.listdir(d) != [], "the run made its test directory")
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=60)
        # Death by the signal itself (a shell sees 130 and stops a script),
        # not exit(130), after which bash runs the script's next line.
        expect(p.returncode == -signal.SIGINT, f"SIGINT: killed by SIGINT (got {p.returncode})")
        expect(os.listdir(d) == [], f"the test directory is removed: {os.listdir(d)}")


def case_plot():
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, PATH="/nonexistent")
        p = run("-s", "shutdown", "-S", "uring", "--plot", d, env=env, check=False)
        expect(p.returncode == 3 and "gnuplot" in p.stderr, f"no gnuplot: exit 3 with a message: {p.stderr}")
        if any(os.access(os.path.join(x, "gnuplot"), os.X_OK) for x in os.environ["PATH"].split(":")):
            run("-s", "cancel-storm", "-S", "uring,pool-per-attempt", "-r", "50", "--plot", d)
            svg = os.path.join(d, "cancel-storm-threads.svg")
            expect(os.path.exists(svg) and "<svg" in open(svg).read(), "the chart is an SVG")
            # file-read: buffered and direct in charts of their own, error
            # bars from the repetitions, latency CDFs on a log axis.
            run("-s", "file-read", "-S", "sync,epoll", "--quick", "--mode", "buffered,direct",
                "--pattern", "rand4k", "--depth", "1,4", "--plot", d)
            names = os.listdir(d)
            for want in ("file-read-rand4k-buffered-iops.svg", "file-read-rand4k-buffered-p50.svg",
                         "file-read-rand4k-buffered-iops-per-cpu.svg",
                         "file-read-rand4k-qd1-buffered-cdf.svg"):
                expect(want in names and "<svg" in open(os.path.join(d, want)).read(), f"{want}: {names}")
            expect(not any("direct" in n and "buffered" in n for n in names), "no chart mixes the modes")
            gp = open(os.path.join(d, "aiobench.gp")).read()
            expect("yerrorlines" in gp and "set logscale x" in gp, "error bars and log axes")
            with open(os.path.join(d, "file-read-rand4k-buffered-iops-sync.dat")) as f:
                pts = [list(map(float, l.split())) for l in f if l.strip()]
            expect(len(pts) == 2 and all(p[2] <= p[1] <= p[3] for p in pts),
                   f"each point: median within its min-max: {pts}")


def expect_one_line_error(args, code, mentions, d):
    p = run(*args, "--dir", d, check=False)
    what = " ".join(args)
    expect(p.returncode == code, f"{what}: exits {code} (got {p.returncode}): {p.stderr!r}")
    lines = p.stderr.strip().splitlines()
    expect(len(lines) == 1 and lines[0].startswith("aiobench: ") and mentions in lines[0],
           f"{what}: one line naming {mentions!r}: {p.stderr!r}")
    # Refused before measuring: no table, and no test directory was made.
    expect(p.stdout == "", f"{what}: no table on stdout: {p.stdout!r}")
    expect(os.listdir(d) == [], f"{what}: nothing left in --dir: {os.listdir(d)}")


def case_bad_input():
    with tempfile.TemporaryDirectory() as top:
        d = os.path.join(top, "dir")
        os.mkdir(d)
        plain = os.path.join(top, "plain")
        open(plain, "w").close()
        # Usage errors: exit 2. A long scenario is asked for so that a check
        # made after measuring would show up as a table on stdout.
        storm = ["-s", "cancel-storm", "-S", "uring"]
        for args, mentions in ((["--file-size", "-5"], "--file-size"),
                               (["--write-size", "-1"], "--write-size"),
                               (["--chunks", "0"], "--chunks"),
                               (["--rounds", "0"], "--rounds"),
                               (["--vis-rounds", "0"], "--vis-rounds"),
                               (["--pool-keepalive", "-1"], "--pool-keepalive"),
                               (["--shutdown-wait", "0"], "--shutdown-wait"),
                               (["--timeout", "0"], "--timeout")):
            expect_one_line_error(storm + args, 2, mentions, d)
        # Environment errors: exit 1, also before the run (a --json that
        # cannot be written was reported only after the whole run).
        missing = os.path.join(top, "no-such-file")
        expect_one_line_error(storm + ["--file", missing], 1, "no-such-file", d)
        expect_one_line_error(storm + ["--file", d], 1, "not a regular file", d)
        expect_one_line_error(storm + ["--json", os.path.join(plain, "r.json")], 1, "--json", d)
        expect_one_line_error(storm + ["--json", d], 1, "--json", d)
        if any(os.access(os.path.join(x, "gnuplot"), os.X_OK) for x in os.environ["PATH"].split(":")):
            expect_one_line_error(storm + ["--plot", plain], 1, "--plot", d)
        else:
            print("skip: --plot path check (gnuplot not installed; --plot exits 3 before it)")


def case_failed_row():
    # 100000 rounds take seconds; a 0.3 s --timeout kills the child, so the
    # row fails. It must say why, make the run fail, and feed no verdict.
    # epoll, not uring: its row cannot turn "unavailable" under a denied ring.
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        p = run("-s", "cancel-storm", "-S", "epoll", "-r", "100000", "--timeout", "0.3",
                "--json", out, check=False)
        expect(p.returncode == 1, f"a failed row exits 1 (got {p.returncode}): {p.stderr!r}")
        lines = p.stderr.strip().splitlines()
        expect(len(lines) == 1 and lines[0].startswith("aiobench: cancel-storm/epoll: failed: ")
               and "300 ms" in lines[0], f"stderr names the row and why: {p.stderr!r}")
        table = [l for l in p.stdout.splitlines() if l.startswith("epoll")]
        expect(len(table) == 1 and "failed: did not finish within 300 ms" in table[0],
               f"the table shows the reason: {p.stdout!r}")
        with open(out) as f:
            doc = json.load(f)
        r = row(doc, "cancel-storm", "epoll")
        expect(r["failed"] is True and r["note"].startswith("failed: "), f"JSON marks the row: {r}")
        expect(not any("epoll" in v for v in doc["verdicts"]),
               f"no verdict from a failed row: {doc['verdicts']}")
        expect("What the figures say" not in p.stdout, f"no verdict in the table: {p.stdout!r}")


def case_vis_rounds():
    # -r sets cancel-storm and fifo-latency rounds only: -r 2000 once meant
    # 2000 writes of --write-size each (16 GiB at the default size).
    doc, _ = run_json("-s", "write-visibility", "-S", "uring", "-r", "2000", "--write-size", "64")
    f = row(doc, "write-visibility", "uring")["figures"]
    expect(f["rounds"] == 16, f"-r leaves write-visibility at its 16 rounds: {f}")
    expect(doc["options"]["vis_rounds"] == 16 and doc["options"]["storm_rounds"] == 2000,
           f"options: {doc['options']}")
    doc, _ = run_json("-s", "write-visibility", "-S", "uring", "--vis-rounds", "5", "--write-size", "64")
    f = row(doc, "write-visibility", "uring")["figures"]
    expect(f["rounds"] == 5, f"--vis-rounds sets them: {f}")


def case_denied():
    # As in a default Docker container: io_uring_setup fails with EPERM. The
    # uring rows say so with the reason; every other row is measured; exit 0.
    deny = EXTRA[0]
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        p = subprocess.run([deny, BIN, "--quick", "--json", out], capture_output=True, text=True,
                           timeout=240)
        expect(p.returncode == 0, f"denied io_uring: exit 0 (got {p.returncode}): {p.stderr!r}")
        expect(p.stderr == "", f"nothing on stderr: {p.stderr!r}")
        with open(out) as f:
            doc = json.load(f)
    check_schema(doc)
    scen = {r["scenario"] for r in doc["results"]}
    expect(len(scen) == 5, f"every scenario ran: {scen}")
    for r in doc["results"]:
        if r["strategy"] in ("uring", "uring-rings"):
            expect(r["unavailable"] is True and r["skipped"] is True and r["failed"] is False,
                   f"uring row marked unavailable: {r}")
            expect(r["note"] == "unavailable: cannot set up io_uring: Operation not permitted",
                   f"with the reason: {r['note']!r}")
        else:
            expect(r["unavailable"] is False and r["failed"] is False, f"measured: {r}")
    table = [l for l in p.stdout.splitlines() if l.startswith("uring ")]
    expect(len(table) >= 5 and all("unavailable: cannot set up io_uring" in l for l in table),
           f"the table says why: {table}")
    e = row(doc, "cancel-storm", "epoll")["figures"]
    expect(e["reads_won"] + e["reads_cancelled"] == 200 and e["user_threads_peak"] == 1,
           f"epoll measured: {e}")
    tf = row(doc, "cancel-storm", "tokio-file")["figures"]
    expect(tf["bytes_lost"] == 0 and tf["reads_won"] + tf["reads_resumed"] == 200, f"tokio-file measured: {tf}")
    fr = [r for r in doc["results"] if r["scenario"] == "file-read" and r["strategy"] == "sync"]
    expect(fr and all(r["figures"]["ops"] > 0 for r in fr), "file-read measured for sync")
    expect(any(v.startswith("uring: unavailable: ") for v in doc["verdicts"]),
           f"a verdict names it once: {doc['verdicts']}")


def case_sqpoll():
    # uring-sqpoll runs only when named, in file-read only; its iou-sqp
    # kernel thread has its own count, and the plain uring row has none.
    doc, p = run_json("-s", "file-read", "-S", "uring,uring-sqpoll", "--pattern", "rand4k",
                      "--mode", "buffered", "-q", "8", "--reps", "1", "-d", "0.3", "--file-size", "16")
    check_schema(doc)
    expect(doc["options"]["strategies"] == ["uring", "uring-sqpoll"], f"options: {doc['options']}")
    sq = row(doc, "file-read", "uring-sqpoll", "rand4k qd8 buffered")
    plain = row(doc, "file-read", "uring", "rand4k qd8 buffered")
    if not uring_measured(sq) or not uring_measured(plain):
        return
    f, g = sq["figures"], plain["figures"]
    expect(not sq["failed"] and f["iops"] > 0 and f["ops"] > 0 and f["errors"] == 0,
           f"uring-sqpoll read the file: {f}")
    expect(f["sqpoll_threads_peak"] == 1, f"uring-sqpoll: one iou-sqp thread: {f}")
    expect(f["user_threads_peak"] == 1, f"uring-sqpoll: the iou-sqp thread is not a user thread: {f}")
    expect(g["sqpoll_threads_peak"] == 0 and g["iops"] > 0, f"uring: no iou-sqp thread: {g}")
    expect("iou-sqp pk" in p.stdout, "the table has the iou-sqp column")
    # Not part of the default set nor of "all".
    doc2, _ = run_json("-s", "shutdown", "-S", "all", "--shutdown-wait", "0.1")
    expect("uring-sqpoll" not in doc2["options"]["strategies"], f"all leaves it out: {doc2['options']}")


globals()["case_" + CASE]()
print("ok", CASE)
