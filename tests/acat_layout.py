#!/usr/bin/env python3
"""acat's hot-path layout: every function named in tools/acat/hot_path.order
is in the binary, and they lie together with nothing of ours between them.

usage: acat_layout.py ACAT ORDER_FILE ON|OFF [PAGES]
  OFF: linked without lld. PAGES: how many 4 KiB pages they may touch (2 at
  -O2, as README says; 0, unchecked, for -O0, -O3 and sanitizer builds).
Exit 0 when laid out, 1 when not, 77 (skip) when the build has no lld.
"""
import subprocess
import sys

# liburing.a has one section per file: the listed io_uring_submit_and_wait
# brings the rest of queue.o's functions along.
LIBURING = ("io_uring_", "_io_uring_", "__io_uring_")


def main():
    acat, order_file, on = sys.argv[1:4]
    pages = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    if on != "ON":
        print("SKIP: acat was linked without ld.lld, so without its hot-path layout")
        return 77
    names, optional, maybe = [], set(), False
    with open(order_file) as f:
        for line in f:
            line = line.strip()
            if line.startswith("#"):
                maybe = maybe or line[1:].strip().startswith("inline")
            elif line:
                names.append(line)
                if maybe:
                    optional.add(line)
                maybe = False
    out = subprocess.run(["nm", "-S", "--defined-only", acat], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW" and int(parts[1], 16) > 0:
            syms.setdefault(parts[3], (int(parts[0], 16), int(parts[1], 16)))
    # Those marked inline (GCC's clones, inline functions) come and go with
    # the build type; the rest must be there.
    missing = [n for n in names if n not in syms and n not in optional]
    if missing:
        print("not in acat (renamed? update hot_path.order):", *missing, sep="\n  ")
        return 1
    listed = {n for n in names if n in syms}
    start = min(syms[n][0] for n in listed)
    end = max(syms[n][0] + syms[n][1] for n in listed)
    touched = (end - 1) // 4096 - start // 4096 + 1
    print(f"{len(listed)} functions over {end - start} bytes from {start:#x}: {touched} pages")
    among = sorted((a, n) for n, (a, _) in syms.items()
                   if start <= a < end and n not in listed and not n.startswith(LIBURING))
    if among:
        print("FAIL: not laid out; among them:")
        for a, n in among[:10]:
            print(f"  {a:#x} {n}")
        return 1
    if pages and touched > pages:
        print(f"FAIL: {touched} pages, more than {pages}: the path grew, or no longer starts a page")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
