#!/usr/bin/env bash
# acp --reflink on real file systems: a small XFS image with reflink on a
# loop device (the copy shares the source's extents, as FIEMAP / filefrag -v
# shows), and an ext4 image where --reflink=always must fail cleanly (one
# line, exit 1, nothing left). Needs root (mount), mkfs.xfs, mkfs.ext4 and
# filefrag; skips with a message otherwise.
# Usage: acp_reflink.sh path/to/acp
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACP=$(readlink -f "$1")
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: acp reflink tests need root to mount loop images"
  exit 0
fi
for t in mkfs.xfs mkfs.ext4 filefrag losetup; do
  command -v $t >/dev/null || { echo "skip: acp reflink tests need $t"; exit 0; }
done
T=$(mktemp -d "$PWD/acp-reflink.XXXXXX")
MOUNTS=()
cleanup() {
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1

# mount_image FSTYPE DIR MKFS_ARGS...: a sparse image file on a loop device.
mount_image() {
  local fs=$1 dir=$2
  shift 2
  truncate -s 320M "$dir.img" && mkdir "$dir" || return 1
  "mkfs.$fs" -q "$@" "$dir.img" >/dev/null 2>&1 || return 1
  mount -o loop "$dir.img" "$dir" || return 1
  MOUNTS+=("$T/$dir")
}
# shared FILE: how many of FILE's extents FIEMAP reports as shared.
shared() { filefrag -v -s "$1" 2>/dev/null | grep -c 'shared'; }
extents() { filefrag -v -s "$1" 2>/dev/null | grep -cE '^ *[0-9]+:'; }

if mount_image xfs xfs -m reflink=1; then
  head -c 8M /dev/urandom >xfs/src
  sync xfs/src
  "$ACP" --reflink=always xfs/src xfs/always
  eq "XFS --reflink=always: exit 0" "$?" 0
  cmp -s xfs/src xfs/always && ok || fail "XFS --reflink=always: same bytes"
  n=$(extents xfs/always)
  eq "XFS --reflink=always: every extent of the copy shared" "$(shared xfs/always)" "$n"
  eq "XFS --reflink=always: the copy has extents" "$((n > 0))" 1
  "$ACP" xfs/src xfs/auto
  eq "XFS default (auto) clones as cp 9: shared" "$(($(shared xfs/auto) > 0))" 1
  "$ACP" --reflink=never xfs/src xfs/never
  sync xfs/never
  eq "XFS --reflink=never: nothing shared" "$(shared xfs/never)" 0
  cmp -s xfs/src xfs/never && ok || fail "XFS --reflink=never: same bytes"
  mkdir -p xfs/tree/sub && for i in 1 2 3; do head -c 256K /dev/urandom >"xfs/tree/sub/f$i"; done
  sync -f xfs/tree/sub/f1
  "$ACP" -r --reflink=always xfs/tree xfs/treecopy
  eq "XFS -r --reflink=always: exit 0" "$?" 0
  for i in 1 2 3; do
    eq "XFS -r --reflink=always: f$i shared" "$(($(shared "xfs/treecopy/sub/f$i") > 0))" 1
  done
  diff -r xfs/tree xfs/treecopy >/dev/null && ok || fail "XFS -r: same tree"
  # The default: FICLONE is tried once per destination directory and
  # skipped after a refusal; here it is never refused, so every file shares.
  "$ACP" -r xfs/tree xfs/treeauto
  eq "XFS -r (auto): exit 0" "$?" 0
  for i in 1 2 3; do
    eq "XFS -r (auto): f$i shared" "$(($(shared "xfs/treeauto/sub/f$i") > 0))" 1
  done
  diff -r xfs/tree xfs/treeauto >/dev/null && ok || fail "XFS -r (auto): same tree"
  eq "XFS: no temporary left" "$(find xfs -name '.acp-*' | wc -l)" 0
else
  echo "skip: cannot make and mount an XFS image with reflink=1 (loop devices?)"
fi

if mount_image ext4 ext4; then
  echo data >ext4/src
  echo old >ext4/existing
  err=$("$ACP" --reflink=always ext4/src ext4/copy 2>&1)
  eq "ext4 --reflink=always: exit 1" "$?" 1
  eq "ext4 --reflink=always: one line saying why" \
    "$err" "acp: failed to clone 'ext4/copy' from 'ext4/src': Operation not supported"
  eq "ext4 --reflink=always: nothing left" "$(ls -A ext4 | tr '\n' ' ')" "existing lost+found src "
  "$ACP" --reflink=always ext4/src ext4/existing 2>/dev/null
  eq "ext4 --reflink=always over a file: exit 1" "$?" 1
  eq "ext4 --reflink=always over a file: it is untouched" "$(cat ext4/existing)" old
  cp --reflink=always ext4/src ext4/cpcopy 2>/dev/null
  eq "ext4 --reflink=always: cp fails too" "$?" 1
  rm -f ext4/cpcopy
  # Across file systems FICLONE is refused (EXDEV) in each directory, and
  # the files after the first are copied without asking again.
  if [ -d xfs/tree ]; then
    "$ACP" -r xfs/tree ext4/fromxfs
    eq "XFS to ext4 -r (auto): exit 0" "$?" 0
    diff -r xfs/tree ext4/fromxfs >/dev/null && ok || fail "XFS to ext4 -r (auto): same tree"
  fi
else
  echo "skip: cannot make and mount an ext4 image (loop devices?)"
fi

echo "acp reflink: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
