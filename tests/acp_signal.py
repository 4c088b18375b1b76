#!/usr/bin/env python3
"""Starts acp so that it can receive SIGINT (a child of this program, not a
background job of a shell, where SIGINT is ignored), feeds a FIFO source a
first block and then holds it open, so acp is certainly in the middle of a
copy; counts acp's threads there; sends SIG; prints 'rc threads workers'.
Usage: acp_signal.py SIG FIFO -- ACP ARGS..."""
import os
import signal
import subprocess
import sys
import time

sig = getattr(signal, "SIG" + sys.argv[1])
fifo = sys.argv[2]
cmd = sys.argv[4:]
p = subprocess.Popen(cmd)
# Opening the FIFO for writing waits for acp to open it for reading.
fd = os.open(fifo, os.O_WRONLY)
os.write(fd, b"first block\n" * 1000)
# acp has the data when the FIFO is empty again (bounded wait: 20 s).
import fcntl, termios, array
for _ in range(2000):
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    if buf[0] == 0:
        break
    time.sleep(0.01)
time.sleep(0.05)
names = []
for t in os.listdir(f"/proc/{p.pid}/task"):
    try:
        with open(f"/proc/{p.pid}/task/{t}/comm") as f:
            names.append(f.read().strip())
    except OSError:
        pass
workers = sum(1 for n in names if n.startswith("iou-wrk"))
users = len(names) - workers
p.send_signal(sig)
rc = p.wait(timeout=20)
os.close(fd)
print(rc, users, workers)
