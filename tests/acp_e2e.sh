#!/usr/bin/env bash
# End-to-end tests of acp: the real binary against GNU cp on an awkward
# tree, the refusals (nothing written), signals and faults, each asserting
# what is left on disk, exit codes and thread counts; never timings.
# Usage: acp_e2e.sh path/to/acp path/to/acp_signal.py
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACP=$(readlink -f "$1")
SIG=$(readlink -f "$2")
# In the build tree (ext4 here), not /tmp: the tree is compared with cp -a there.
T=$(mktemp -d "$PWD/acp-e2e.XXXXXX" 2>/dev/null || mktemp -d /tmp/acp-e2e.XXXXXX)
# Searchable by others: the unreadable-file case runs acp as nobody in here.
chmod 755 "$T"
MNT=""
cleanup() {
  [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"
# What a tree holds, entry by entry: type, mode, owner, size (files),
# mtime to the ns, link target, link count; sorted, NUL-safe.
meta() {
  (cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%T@|%l|%n|' -a \( -type f -printf '%s' -o -true \) -printf '\n' |
    LC_ALL=C sort)
}
leftovers() { find "$1" -name '.acp-*' | wc -l; }
# diff -r of two trees; FIFOs are not compared by content (diff says so even
# of two identical ones), their type and mode are in meta.
same_tree() {
  diff -r --no-dereference "$1" "$2" 2>&1 | grep -v '^File .* is a fifo while file .* is a fifo$' | grep -q . && return 1
  return 0
}

# --- the awkward tree, against cp -a
mkdir -p src/sub/deep src/empty "src/dir with space"
echo hello >src/a
head -c 5000 /dev/urandom >src/sub/b
head -c 300000 /dev/urandom >src/sub/deep/big
: >src/emptyfile
ln -s a src/rel
ln -s /etc/passwd src/abs
ln -s nowhere src/dangling
ln src/a src/hard
ln src/sub/b "src/dir with space/hard2"
mkfifo src/fifo
truncate -s 10M src/sparse
echo tail >>src/sparse
touch "src/with space" "src/$(printf 'new\nline')" "src/$(printf 'bad\377')"
chmod 2750 src/sub
chmod 0600 src/sub/b
chmod 1777 src/empty
touch -h -d '2001-01-01 01:02:03.123456789' src/sub/b src/sub src/rel src/empty
XATTR=0
if setfattr -n user.colour -v blue src/a 2>/dev/null && setfattr -n user.d -v x src/sub; then XATTR=1; fi
"$ACP" -a src acp_tree
eq "acp -a exit" "$?" 0
cp -a src cp_tree
if same_tree acp_tree cp_tree; then ok; else fail "diff -r acp -a vs cp -a"; diff -r --no-dereference acp_tree cp_tree | head; fi
if [[ "$(meta acp_tree)" == "$(meta cp_tree)" ]]; then ok; else
  fail "stat fields differ from cp -a"
  diff <(meta acp_tree) <(meta cp_tree) | head
fi
if ((XATTR)); then
  eq "xattrs as cp -a" "$(cd acp_tree && getfattr -R -d -h . 2>/dev/null)" "$(cd cp_tree && getfattr -R -d -h . 2>/dev/null)"
  eq "xattr present" "$(getfattr --only-values -n user.colour acp_tree/a 2>/dev/null)" blue
fi
eq "hard links kept" "$(stat -c %i acp_tree/a)" "$(stat -c %i acp_tree/hard)"
eq "sparse stays sparse" "$(( $(stat -c %b acp_tree/sparse) <= $(stat -c %b cp_tree/sparse) ))" 1
eq "setgid dir mode" "$(stat -c %a acp_tree/sub)" 2750
eq "no temporaries" "$(leftovers acp_tree)" 0

# cp -r (no -a) on the same tree: same content and types
"$ACP" -r src acp_r && cp -r src cp_r
if same_tree acp_r cp_r; then ok; else fail "acp -r vs cp -r"; fi
# -r keeps no times: compare the rest.
untimed() { meta "$1" | awk -F'|' -v OFS='|' '{ $6 = ""; print }'; }
if [[ "$(untimed acp_r)" == "$(untimed cp_r)" ]]; then ok; else
  fail "-r: stat fields differ from cp -r"
  diff <(untimed acp_r) <(untimed cp_r) | head
fi
eq "-r: symlink copied as symlink" "$(readlink acp_r/rel)" a

# --- a tree across file systems, more files than are in flight (64): read
# and write through the ring, each file with its own slot's buffer (a second
# buffer per file once made all 64 wait for a 65th: it hung)
if XFS=$(mktemp -d /dev/shm/acp-e2e.XXXXXX 2>/dev/null) && [ "$(stat -f -c %T "$XFS")" != "$(stat -f -c %T .)" ]; then
  mkdir many && for i in $(seq 1 150); do echo "$i" >"many/f$i"; done
  timeout 60 "$ACP" -r many "$XFS/many"
  eq "tree across file systems: exit" "$?" 0
  if diff -r many "$XFS/many" >/dev/null; then ok; else fail "tree across file systems: content"; fi
  rm -rf "$XFS"
else
  echo "skip: tree across file systems needs a tmpfs at /dev/shm beside $(stat -f -c %T .)"
fi

# --- single files
echo one >f1
echo two >f2
"$ACP" f1 new && eq "file copy" "$(cat new)" one
"$ACP" f2 new && eq "overwrite replaces" "$(cat new)" two
echo x >modedst && chmod 640 modedst
"$ACP" f1 modedst
eq "overwrite keeps the destination's mode, as cp" "$(stat -c %a modedst)" 640
"$ACP" -n f1 new
eq "-n keeps" "$(cat new)" two
touch -d '2000-01-01' f1
"$ACP" -u f1 new
eq "-u skips older" "$(cat new)" two
mkdir into
"$ACP" f1 f2 into && eq "SOURCE... DIR" "$(cat into/f1 into/f2 | tr '\n' ' ')" "one two "
"$ACP" -t into new && eq "-t" "$(cat into/new)" two
eq "-v like cp" "$("$ACP" -v f1 vv)" "$(cp -v f1 vv2 | sed 's/vv2/vv/')"
printf 'from stdin' | "$ACP" - fromstdin
eq "stdin" "$(cat fromstdin)" "from stdin"
mkfifo pipe
(printf 'through a fifo' >pipe) &
"$ACP" pipe fromfifo
eq "FIFO content" "$(cat fromfifo)" "through a fifo"
wait

# --- refusals: one line, exit 1, nothing written
ln f2 f2link
ln -s f2 f2sym
ln -s nowhere dangle
ln -s loop loop
mkdir d
before=$(ls -A | wc -l)
for args in "f2 f2" "f2 f2link" "f2 f2sym" "f1 dangle" "f1 loop" "d dcopy" "-r d d/inside" "-T f1 d"; do
  err=$("$ACP" $args 2>&1 >/dev/null)
  rc=$?
  eq "refused: acp $args: exit" "$rc" 1
  eq "refused: acp $args: one line" "$(printf '%s\n' "$err" | wc -l)" 1
done
eq "refusals wrote nothing" "$(ls -A | wc -l)" "$before"
eq "dangling target not created" "$(test -e nowhere && echo yes || echo no)" no
eq "dir refusal message" "$("$ACP" d dcopy 2>&1)" "acp: -r not specified; omitting directory 'd'"
eq "same file message" "$("$ACP" f2 f2link 2>&1)" "acp: 'f2' and 'f2link' are the same file"
"$ACP" 2>/dev/null
eq "usage error exits 1 as cp" "$?" 1
"$ACP" --no-such-option a b 2>/dev/null
eq "bad option exits 1 as cp" "$?" 1
eq "error names quoted" "$("$ACP" "$(printf 'no\nsuch')" x 2>&1)" "acp: cannot stat 'no'\$'\\n''such': No such file or directory"
"$ACP" --reflink=always f1 refl 2>/dev/null
rc=$?
if [[ "$(stat -f -c %T . )" == "ext2/ext3" ]]; then
  eq "--reflink=always on ext4 fails" "$rc" 1
  eq "--reflink=always leaves nothing" "$(test -e refl && echo yes || echo no)" no
fi

# --- an operand that fails does not stop the others
"$ACP" f1 missing-src f2 into2 2>/dev/null
eq "target not a dir" "$?" 1
mkdir into3
"$ACP" f1 missing-src f2 into3 2>err
eq "one bad operand: exit 1" "$?" 1
eq "the others copied" "$(ls into3 | tr '\n' ' ')" "f1 f2 "
eq "one error line" "$(wc -l <err)" 1

# --- signals in the middle of a copy (the source is a FIFO held open)
for s in INT TERM KILL; do
  mkfifo "held$s"
  out=$(python3 "$SIG" "$s" "held$s" -- "$ACP" "held$s" "dest$s")
  set -- $out
  want=$([[ $s == INT ]] && echo -2 || ([[ $s == TERM ]] && echo -15 || echo -9))
  eq "SIG$s: dies of it" "$1" "$want"
  eq "SIG$s: no file under the final name" "$(test -e "dest$s" && echo yes || echo no)" no
  eq "SIG$s: no temporary left" "$(leftovers .)" 0
  eq "SIG$s: one user thread mid copy" "$2" 1
  eq "SIG$s: io-wq within the cap (2 per pool)" "$(($3 <= 4))" 1
done
# ... and of a tree: the complete files stay, the one in progress does not
mkdir -p tree/x && for i in 1 2 3; do echo "$i" >"tree/x/f$i"; done
mkfifo tree/zfifo
out=$(python3 "$SIG" INT tree/zfifo -- "$ACP" -r --copy-contents tree treecopy)
set -- $out
eq "tree SIGINT: dies of it" "$1" -2
eq "tree SIGINT: complete files kept" "$(cat treecopy/x/f1 treecopy/x/f2 treecopy/x/f3 2>/dev/null | tr '\n' ' ')" "1 2 3 "
eq "tree SIGINT: the FIFO's copy absent" "$(test -e treecopy/zfifo && echo yes || echo no)" no
eq "tree SIGINT: no temporary left" "$(leftovers treecopy)" 0
# --atomic-tree: all or nothing
out=$(python3 "$SIG" INT tree/zfifo -- "$ACP" -r --copy-contents --atomic-tree tree atomic)
set -- $out
eq "atomic tree SIGINT: dies of it" "$1" -2
eq "atomic tree SIGINT: no DEST" "$(test -e atomic && echo yes || echo no)" no
eq "atomic tree SIGINT: no hidden tree left" "$(leftovers .)" 0
rm tree/zfifo
"$ACP" -r --atomic-tree tree atomic
eq "atomic tree: exit" "$?" 0
eq "atomic tree: whole" "$(cat atomic/x/f3)" 3
eq "atomic tree: no hidden tree left" "$(leftovers .)" 0
# A staged directory's hidden name already taken (here by a guess at acp's
# PID, made before exec): acp takes the next name and leaves that one alone.
mkdir -p taken/src && echo t >taken/src/f
python3 -c '
import os, sys
os.mkdir(f"taken/.acp-{os.getpid()}-1.dst")
os.execvp(sys.argv[1], sys.argv[1:])' "$ACP" -r taken/src taken/dst
eq "hidden name taken: exit" "$?" 0
eq "hidden name taken: copied" "$(cat taken/dst/f)" t
eq "hidden name taken: the other one left alone" "$(ls -A taken/.acp-*-1.dst | wc -l)" 0
eq "hidden name taken: nothing else hidden" "$(ls -A taken | tr '\n' ' ')" ".acp-$(ls -A taken | sed -n 's/^\.acp-\([0-9]*\)-1\.dst$/\1/p')-1.dst dst src "

# Hard links inside the hidden tree (acp once linked to the final path, which
# does not exist until the end).
mkdir -p hl/x && echo h >hl/a && ln hl/a hl/b && ln hl/a hl/x/c
"$ACP" -a --atomic-tree hl hlcopy
eq "atomic tree -a: exit" "$?" 0
eq "atomic tree -a: hard links kept" "$(stat -c %h hlcopy/a) $(stat -c %i hlcopy/a)" \
  "3 $(stat -c %i hlcopy/x/c)"

# --- sources whose size lies, destinations that are not regular files
# procfs says 0 bytes and sysfs a page whatever they hold: read to the end.
for f in /proc/version /proc/sys/kernel/ostype /sys/devices/system/cpu/online; do
  [ -r "$f" ] || continue
  "$ACP" "$f" lying
  eq "size that lies: $f copied whole" "$(cmp lying "$f" 2>&1 && echo same)" same
done
mkdir -p lyingdir && "$ACP" -r /proc/sys/kernel/random lyingdir/r 2>/dev/null
eq "size that lies, -r: procfs file copied whole" "$(cat lyingdir/r/poolsize)" "$(cat /proc/sys/kernel/random/poolsize)"
# cp writes into an existing device, FIFO or pipe; replacing it with a file
# would, for /dev/null, break the machine.
printf 'into a pipe\n' >pf
ln -s /proc/self/fd/1 to_stdout
eq "to a symlink to stdout (a pipe): the bytes" "$("$ACP" pf to_stdout | cat)" "into a pipe"
eq "stdin to a symlink to stdout" "$(echo from stdin | "$ACP" - to_stdout | cat)" "from stdin"
eq "the symlink stays" "$(readlink to_stdout)" /proc/self/fd/1
mkfifo outfifo
timeout 60 cat outfifo >fifo_got &
reader=$!
timeout 60 "$ACP" pf outfifo
eq "to an existing FIFO: exit" "$?" 0
wait "$reader"
eq "to an existing FIFO: its reader got the bytes" "$(cat fifo_got)" "into a pipe"
eq "the FIFO stays" "$(stat -c %F outfifo)" fifo
if [ "$(id -u)" -eq 0 ]; then
  mknod nulldev c 1 3 && mknod fulldev c 1 7 && mknod cpnull c 1 3
  chmod 666 nulldev fulldev cpnull
  "$ACP" pf nulldev
  eq "to a null device: exit" "$?" 0
  eq "the null device stays" "$(stat -c %F nulldev)" "character special file"
  err=$("$ACP" pf fulldev 2>&1)
  eq "to a full device: exit 1 as cp" "$?" 1
  eq "to a full device: cp's message" "$err" "$(cp pf fulldev 2>&1 | sed 's/^cp:/acp:/')"
  eq "the full device stays" "$(stat -c %F fulldev)" "character special file"
  chmod 600 pf && touch -d 2001-01-01 pf
  "$ACP" -p pf nulldev && cp -p pf cpnull
  eq "-p onto a device: mode and time set as cp" "$(stat -c '%F %a %Y' nulldev)" "$(stat -c '%F %a %Y' cpnull)"
else
  echo "skip: device-node destinations need root to mknod"
fi

# --- unreadable file and directory inside a tree (as an unprivileged user)
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  mkdir -p u/src/closed u/src/open && chmod 777 u
  echo a >u/src/open/a
  echo s >u/src/secret
  echo c >u/src/closed/c
  chmod 000 u/src/secret u/src/closed
  chmod -R a+rX u/src/open
  chmod a+rx u/src
  err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ACP" -r u/src u/dst 2>&1)
  eq "unreadable: exit 1" "$?" 1
  eq "unreadable: two error lines" "$(printf '%s\n' "$err" | wc -l)" 2
  eq "unreadable: the rest copied" "$(cat u/dst/open/a)" a
  eq "unreadable: no file for the unreadable one" "$(test -e u/dst/secret && echo yes || echo no)" no
  eq "unreadable: no temporaries" "$(leftovers u/dst)" 0
else
  echo "skip: unreadable-file tests need root (to drop to nobody) and setpriv"
fi

# --- ENOSPC on a small tmpfs
if [ "$(id -u)" -eq 0 ] && mkdir small && mount -t tmpfs -o size=1m tmpfs small 2>/dev/null; then
  MNT=$T/small
  head -c 3000000 /dev/urandom >big
  echo fine >small/kept
  err=$("$ACP" big small/big 2>&1)
  eq "ENOSPC: exit 1" "$?" 1
  case "$err" in *"No space left on device"*) ok ;; *) fail "ENOSPC message: $err" ;; esac
  eq "ENOSPC: nothing left but what was there" "$(ls -A small)" kept
  eq "ENOSPC: space given back" "$(df --output=used -k small | tail -1 | tr -d ' ')" "$(du -sk small | cut -f1)"
  umount small && MNT=""
else
  echo "skip: ENOSPC test needs root to mount a small tmpfs"
fi

echo "acp e2e: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
