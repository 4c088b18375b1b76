#!/usr/bin/env bash
# acp against GNU cp, side by side, on awkward operands and destinations:
# each case is set up twice in a fresh scratch directory, run once with
# /usr/bin/cp and once with acp, and must give the same stdout, stderr
# (with "cp" read as "acp"), exit code and resulting tree (names, types,
# modes, link counts, sizes, symlink targets, contents).
# Usage: acp_gnu_e2e.sh path/to/acp
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACP=$(readlink -f "$1")
CPBIN=/usr/bin/cp
if ! "$CPBIN" --version 2>/dev/null | grep -q 'GNU coreutils'; then
  echo "SKIP: GNU cp not found at $CPBIN"
  exit 0
fi
T=$(mktemp -d /tmp/acp-gnu.XXXXXX)
chmod 755 "$T" # the unprivileged cases run as nobody in here
trap 'rm -rf "$T"' EXIT
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"
# cp's messages in the C locale's quotes, as acp's tests expect them.
export LC_ALL=C

# What a scratch directory holds: per entry its type, mode, link count,
# size and link target, then each regular file's checksum.
tree() {
  (cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%n|%s|%l\n' | sort &&
    find . -type f -exec md5sum {} + | sort -k2)
}

# gnu_case NAME SETUP COMMAND [STDIN]: COMMAND runs in the scratch
# directory with $CP set to cp, then to acp.
gnu_case() {
  local name=$1 setup=$2 cmd=$3 input=${4:-/dev/null} who
  for who in cp acp; do
    rm -rf "${T:?}/$who"
    mkdir -p "$T/$who"
    (cd "$T/$who" && eval "$setup")
    local CP=$CPBIN
    [ "$who" = acp ] && CP=$ACP
    (cd "$T/$who" && CP=$CP eval "timeout 20 $cmd" <"$input" >"$T/$who.out" 2>"$T/$who.err"
      echo $? >"$T/$who.rc")
    # -i's prompts end without a newline: every one on a line is renamed.
    sed -i -e "s#$CPBIN: #acp: #g" -e "s#^$ACP:#acp:#" -e "s#'$CPBIN --help'#'acp --help'#" \
      "$T/$who.err" "$T/$who.out"
    tree "$T/$who" >"$T/$who.tree"
  done
  local f bad=0
  for f in out err rc tree; do
    if ! cmp -s "$T/cp.$f" "$T/acp.$f"; then
      bad=1
      fail "$name: $f differs from cp's"
      diff "$T/cp.$f" "$T/acp.$f" | head -10
    fi
  done
  [ "$bad" = 0 ] && ok
}

# --- the same file under two names: refused, never replaced by a symlink to
# itself nor truncated through one (cp -P s a, s -> a, once made a a
# symlink to itself and lost its data); cp -n does not look.
gnu_case "same file: symlink onto what it names, -P" 'echo a >a; ln -s a s' '$CP -P s a'
gnu_case "same file: symlink onto what it names, -d" 'echo a >a; ln -s a s' '$CP -d s a'
gnu_case "same file: symlink onto what it names, -a" 'echo a >a; ln -s a s' '$CP -a s a'
gnu_case "same file: symlink onto what it names, -r" 'echo a >a; ln -s a s' '$CP -r s a'
gnu_case "same file: chain of symlinks, -P" 'echo a >a; ln -s a s; ln -s s s3' '$CP -P s3 a'
gnu_case "same file: two symlinks to one file are copied" 'echo a >a; ln -s a s; ln -s a s2' '$CP -P s s2'
gnu_case "same file: in a tree, the destination a symlink to the source" \
  'mkdir -p s d/s; echo a >s/f; ln -s ../../s/f d/s/f' '$CP -r s d'
gnu_case "same file: in a tree, the source a symlink to the destination" \
  'mkdir -p s d/s; echo a >d/s/f; ln -s ../d/s/f s/f' '$CP -r s d'
gnu_case "same file: -n skips quietly" 'echo a >a; ln -s a s' '$CP -Pn s a'
gnu_case "same file: -n skips a hard link quietly" 'echo a >a; ln a h' '$CP -n a h'
gnu_case "same file: hard link" 'echo a >a; ln a h' '$CP a h'
gnu_case "same file: through ./" 'echo a >a' '$CP a ./a'
gnu_case "same file: destination a symlink to the source" 'echo a >a; ln -s a s' '$CP a s'

# --- a destination with a trailing slash names a directory: a file is not
# created under the name without its slash (acp once did); a file where a
# directory is named is "cannot stat".
SL='echo a >a; ln -s a s; mkfifo f; echo b >b; mkdir d; ln -s b sb; ln -s nowhere dl; ln -s d sd'
gnu_case "trailing slash: new name" "$SL" '$CP a new/'
gnu_case "trailing slash: new name, -T" "$SL" '$CP -T a new/'
gnu_case "trailing slash: an existing file" "$SL" '$CP a b/'
gnu_case "trailing slashes: an existing file" "$SL" '$CP a b//'
gnu_case "trailing slash: symlink to a file" "$SL" '$CP a sb/'
gnu_case "trailing slash: dangling symlink" "$SL" '$CP a dl/'
gnu_case "trailing slash: symlink to a directory" "$SL" '$CP a sd/'
gnu_case "trailing slash: a directory, -T" "$SL" '$CP -T a d/'
gnu_case "trailing slash: new name for a symlink" "$SL" '$CP -P s new/'
gnu_case "trailing slash: new name for a FIFO, -r" "$SL" '$CP -r f new/'
gnu_case "trailing slash: missing parent" "$SL" '$CP a nod/x/'
gnu_case "trailing slash: new name for a directory" "$SL" '$CP -r d new/'
gnu_case "a file used as a directory" "$SL" '$CP a b/c'
gnu_case "a file used as a directory, FIFO -r" "$SL" '$CP -r f b/c'

# --- usage errors and the operand checks: cp's lines, its "Try" line (or
# not: -t with -T is cp's die()), exit 1, nothing written.
U='echo a >a; echo b >b; echo c >c; mkdir d'
gnu_case "usage: no operand" "$U" '$CP'
gnu_case "usage: no destination" "$U" '$CP a'
gnu_case "usage: no destination, quoted name" "$U" '$CP "a b"'
gnu_case "usage: unknown long option" "$U" '$CP --bogus a x'
gnu_case "usage: unknown short option" "$U" '$CP -j a x'
gnu_case "usage: -T with an extra operand" "$U" '$CP -T a b c'
gnu_case "usage: -t with -T" "$U" '$CP -t d -T a'
gnu_case "usage: -t with -T and no operand" "$U" '$CP -t d -T'
gnu_case "usage: -t without its argument" "$U" '$CP -t'
gnu_case "usage: --reflink=always with --sparse" "$U" '$CP --reflink=always --sparse=never a x'
for arg in --preserve=bogus --preserve=mode,bogus --preserve= --no-preserve=bogus --sparse=bogus \
  --sparse=a --reflink=bogus --reflink=a; do
  gnu_case "usage: $arg" "$U" "\$CP $arg a x"
done
gnu_case "-Z is accepted" "$U" '$CP -Z a x'
gnu_case "--context=CTX is warned about" "$U" '$CP --context=x a x'
gnu_case "target: three operands, the last a file" "$U" '$CP a b c'
gnu_case "target: three operands, the last missing" "$U" '$CP a b nodir'
gnu_case "target: -t a file" "$U" '$CP -t b a'
gnu_case "target: -t missing" "$U" '$CP -t nodir a'

# --- --no-preserve=mode: new entries get the default permissions (0666 or
# 0777, less the umask; directories keep their sticky bit), as cp; an
# existing file keeps its own.
NM='umask 022; echo x >a; chmod 640 a; mkdir -p d/e; chmod 750 d; chmod 1700 d/e; echo y >d/e/f
chmod 600 d/e/f; mkfifo -m 600 d/p; mknod -m 600 d/n c 1 3; chmod 3700 d'
gnu_case "--no-preserve=mode: a file" "$NM" '$CP --no-preserve=mode a b'
gnu_case "--no-preserve=mode after -a" "$NM" '$CP -a --no-preserve=mode a b'
gnu_case "--no-preserve=all after -a" "$NM" '$CP -a --no-preserve=all a b'
gnu_case "--no-preserve=mode: a tree, -a" "$NM" '$CP -a --no-preserve=mode d n'
gnu_case "--no-preserve=mode: a tree, -r, umask 027" "$NM" 'sh -c "umask 027; $CP -r --no-preserve=mode d n"'
gnu_case "--no-preserve=mode: an existing file keeps its mode" "$NM; echo old >b; chmod 604 b" \
  '$CP -a --no-preserve=mode a b'
gnu_case "--no-preserve=mode then --preserve=mode" "$NM" '$CP --no-preserve=mode --preserve=mode a b'

# --- a socket is re-created by -r, but cannot be opened for its content:
# without -r (or with --copy-contents) cp reports it, and so must acp
# (it once made a socket node).
SO="python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('s')\"; echo x >a"
gnu_case "socket: without -r, cannot be opened" "$SO" '$CP s t'
gnu_case "socket: -r re-creates it" "$SO" '$CP -r s t'
gnu_case "socket: -r --copy-contents, cannot be opened" "$SO" '$CP -r --copy-contents s t'
gnu_case "socket: in a tree, -r --copy-contents" "mkdir d; cd d; $SO" '$CP -r --copy-contents d n'

# --- an existing destination that cannot be opened (a socket): cp's
# message; with -f cp removes it and copies, acp replaces it.
gnu_case "destination a socket" "$SO" '$CP a s'
gnu_case "destination a socket, -f" "$SO" '$CP -f a s'

# --- -i reads its answers from stdin whatever it is (a pipe here), as cp:
# acp once refused to start without a terminal, even with nothing to ask.
I='echo new >a; mkdir -p d s t/s; echo 1 >b; echo 2 >c; echo o >d/a; echo o >d/b; echo o >d/c
echo 1 >s/a; echo o >t/s/a'
printf 'y\n' >"$T/yes"
printf 'n\n' >"$T/no"
printf 'y\nn\ny\n' >"$T/yny"
gnu_case "-i: yes from a pipe" "$I" '$CP -i a b' "$T/yes"
gnu_case "-i: no from a pipe" "$I" '$CP -i a b' "$T/no"
gnu_case "-i: end of input is no" "$I" '$CP -i a b'
gnu_case "-i: nothing to ask" "$I" '$CP -i a new' "$T/no"
gnu_case "-i: one answer per file" "$I" '$CP -i a b c d' "$T/yny"
# The first file large, the others small: copied at once, the small ones
# would be asked about first and take the first answer.
gnu_case "-i: questions in the operands' order" "$I; head -c 50000000 /dev/zero >a" \
  '$CP -i a b c d' "$T/yny"
gnu_case "-i: in a tree" "$I" '$CP -ri s t' "$T/yes"

# --- destinations the user may not write (as nobody): cp refuses to write
# into them, -f removes them; acp once replaced them regardless.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  NB='setpriv --reuid=65534 --regid=65534 --clear-groups'
  W='echo new >a; chmod 666 a; chmod 777 .; echo old >b; chmod 444 b'
  gnu_case "unwritable destination: refused" "$W" "$NB \$CP a b"
  gnu_case "unwritable destination: -f replaces it" "$W" "$NB \$CP -f a b"
  gnu_case "unwritable destination: -i asks" "$W" "$NB \$CP -i a b" "$T/no"
  gnu_case "unwritable destination: -if asks" "$W" "$NB \$CP -if a b" "$T/yes"
  gnu_case "unwritable destination: in a tree" "$W; mkdir -p s d/s; chmod -R 777 s d; cp a s/a
    cp -p b d/s/a" "$NB \$CP -r s d"
  gnu_case "unwritable destination: in a tree, -f" "$W; mkdir -p s d/s; chmod -R 777 s d; cp a s/a
    cp -p b d/s/a" "$NB \$CP -rf s d"
  gnu_case "unwritable device node: refused" "$W; mknod -m 644 n c 1 3" "$NB \$CP a n"
  gnu_case "unwritable device node: -f replaces it" "$W; mknod -m 644 n c 1 3" "$NB \$CP -f a n"
  # A directory the user may not write, holding a file they may: cp writes
  # into the file, and so does acp (there is nowhere to build a copy).
  R='echo new >a; chmod 666 a; chmod 777 .; mkdir d; echo o >d/a'
  gnu_case "read-only directory: its writable file written into" "$R; chmod 666 d/a; chmod 555 d" \
    "$NB \$CP a d/"
  gnu_case "read-only directory: -n" "$R; chmod 666 d/a; chmod 555 d" "$NB \$CP -n a d/"
  gnu_case "read-only directory: a new name refused" "$R; chmod 555 d" "$NB \$CP a d/b"
  gnu_case "read-only directory: its unwritable file refused" "$R; chmod 444 d/a; chmod 555 d" \
    "$NB \$CP a d/"
  gnu_case "read-only directory: its unwritable file, -f" "$R; chmod 444 d/a; chmod 555 d" \
    "$NB \$CP -f a d/"
  gnu_case "read-only directory: in a tree" "$R; mkdir -p s t/s; echo n >s/a; echo n >s/b
    chmod -R 777 s; echo o >t/s/a; chmod 666 t/s/a; chmod 555 t/s" "$NB \$CP -r s t"
  gnu_case "unreadable source among others" "$W; echo x >c; chmod 000 a; mkdir d; chmod 777 d" \
    "$NB \$CP a c nope d"
else
  echo "SKIP: the unwritable-destination cases need root (they run cp and acp as nobody)"
fi

# --- a source named twice is copied once, with cp's warning; another hard
# link or a symlink to it is another source.
D='echo x >a; ln a h; ln -s a s; mkdir d; mkdir -p r/q; echo y >r/q/f'
gnu_case "twice: a file" "$D" '$CP a a d'
gnu_case "twice: a file and ./file" "$D" '$CP a ./a d'
gnu_case "twice: -t" "$D" '$CP -t d a a'
gnu_case "twice: -v" "$D" '$CP -v a a d'
gnu_case "twice: a directory" "$D" '$CP -r r r/ d'
gnu_case "twice: a directory without -r" "$D" '$CP r r d'
gnu_case "not twice: hard links, -a" "$D" '$CP -a a h d'
gnu_case "not twice: a symlink followed" "$D" '$CP a s d'

# --- "-" is standard input for acp (cp has no such operand), but a file
# named "-" is copied as cp copies it.
gnu_case "a file named -" 'echo file >-' 'echo stdin | $CP - b'
gnu_case "a file named -, into a directory" 'echo file >-; mkdir d' 'echo stdin | $CP -- - d'

# --- --sparse=always leaves blocks of zeros as holes, as cp (the same
# blocks, so the same disk use), and the same bytes.
gnu_case "--sparse=always: a file of zeros" 'head -c 1M /dev/zero >sp' \
  '$CP --sparse=always sp sp2 && du -k sp2 | cut -f1'
gnu_case "--sparse=always: zeros between data, and at the end" \
  'head -c 100000 /dev/zero >sp; echo x >>sp; head -c 300000 /dev/zero >>sp; echo y >>sp
   head -c 8192 /dev/zero >>sp' '$CP --sparse=always sp sp2 && du -k sp2 | cut -f1'
gnu_case "--sparse=always: holes and zeros" \
  'truncate -s 10M sp; echo x >>sp; head -c 200000 /dev/zero >>sp; echo z >>sp' \
  '$CP --sparse=always sp sp2 && du -k sp2 | cut -f1'
gnu_case "--sparse=always: in a tree" 'mkdir d; head -c 1M /dev/zero >d/sp; echo x >d/f' \
  '$CP -r --sparse=always d e && du -k e/sp | cut -f1'

# --- / into a directory has no name to be copied under: cp's mkdir of the
# empty name fails (acp once copied the whole file system into it; the
# inner timeout bounds such a run).
gnu_case "/ into a directory, -r" 'mkdir d' 'timeout 5 $CP -r / d'
gnu_case "// into a directory/, -r" 'mkdir d' 'timeout 5 $CP -r // d/'
gnu_case "/ into -t directory, -r" 'mkdir d' 'timeout 5 $CP -r -t d /'
gnu_case "/ into a directory, without -r" 'mkdir d' 'timeout 5 $CP / d'

# --- -v names what was copied: nothing for a file kept by -n, -u or -i's
# no, nor for a directory that was there already.
V='echo a >a; echo b >b; mkdir -p s/x; echo f >s/x/f; ln -s a l'
gnu_case "-v: -n keeps a file, says nothing" "$V" '$CP -nv a b'
gnu_case "-v: -u keeps a newer file, says nothing" "$V; touch -d 2030-01-01 b" '$CP -uv a b'
gnu_case "-v: -i answered no, says nothing" "$V" '$CP -iv a b' "$T/no"
gnu_case "-v: -n keeps a symlink, says nothing" "$V; ln -s x n" '$CP -Pnv l n'
gnu_case "-v: -rn into an existing tree" "$V; cp -r s n" '$CP -rnv s/. n'
gnu_case "-v: -r into an existing tree" "$V; mkdir -p n/s/x" '$CP -rv s n'

# --- -H follows a symlink named on the command line (acp once opened it
# with O_NOFOLLOW and failed); with -L, and -H for operands, two symlinks
# to one file are copied as hard links of one file under -a, as cp.
H='echo a >a; mkdir d; ln -s a l; mkdir s; ln -s ../a s/l; echo x >s/f; ln -s f s/lf'
gnu_case "-H: a symlink operand, -r" "$H" '$CP -rH l n'
gnu_case "-H: a symlink operand, -a" "$H" '$CP -aH a l d'
gnu_case "-L: symlinks to one file are hard links, -a" "$H" '$CP -aL a l d'
gnu_case "-L: in a tree, -a" "$H" '$CP -aL s n'
gnu_case "-H: in a tree, -a" "$H" '$CP -aH s n'
gnu_case "usage: -t twice" "$U" '$CP -t d -t d a'

# --- a symlink to a directory in the destination tree, where the source has
# a directory: refused with cp's message (the copy does not go into it).
gnu_case "tree: a symlink where the source has a directory" \
  'mkdir -p s/x d/s t; echo f >s/x/f; ln -s ../../t d/s/x' '$CP -a s d'

# --- a tree with hard links copied again with -a: the names stay one file
# (acp once copied over the later names, one inode each), and -v names
# what cp removes.
HL='mkdir -p s/x d; echo g >s/g; ln s/g s/h; ln s/g s/x/k; echo z >s/z'
gnu_case "-a twice: hard links kept" "$HL" '$CP -a s d && $CP -a s d'
gnu_case "-a twice: -v" "$HL" '$CP -a s d && $CP -av s d | sort'
gnu_case "-a twice: -n keeps a changed name" "$HL" '$CP -a s d && echo new >d/s/h && $CP -an s d'
gnu_case "-a: a hard link onto another file" "$HL; mkdir -p d/s; echo o >d/s/h" '$CP -a s d'
gnu_case "-a: a hard link onto a directory" "$HL; mkdir -p d/s/h" '$CP -a s d'

# --- a new directory is filled under a hidden name and renamed into place
# when its files are complete: hard links made into it and across such
# directories (acp once named the first copy by a path the rename had just
# changed: ENOENT), a first copy that fails (the next name is copied, as
# cp), and directories named twice (the second merged into the first's
# copy, as cp).
XL='mkdir -p s/a s/b/c; for i in $(seq 60); do echo $i >s/a/f$i; ln s/a/f$i s/b/c/g$i; ln s/a/f$i s/b/h$i; done'
gnu_case "-a: hard links across new directories" "$XL" '$CP -a s d'
gnu_case "-a: hard links, the first copy failing" \
  'mkdir -p s/b d/s/f; echo x >s/f; ln s/f s/b/g; ln s/f s/b/h' '$CP -a s d'
gnu_case "-r: one directory named twice, merged in order" \
  'mkdir -p a/d b/d/e dst; echo 1 >a/d/x; echo 2 >b/d/x; echo 3 >b/d/e/y' '$CP -r a/d b/d dst'
gnu_case "-av: a file with other links is removed" "$HL; cp -a s d; echo q >d/s/z; ln d/s/z d/s/z2" \
  '$CP -av s/z d/s/z'

# --- --remove-destination: every existing destination replaced (a FIFO or
# device too), with the source's mode and cp's "removed" lines;
# --strip-trailing-slashes as cp applies it. (Both were usage errors.)
RD='echo a >a; chmod 600 a; echo b >b; chmod 644 b; mkfifo f; ln -s a l; echo x >c; mkdir -p s/t d
echo 1 >s/t/x; ln -s t s/lt; mknod n c 1 3'
gnu_case "--remove-destination: a file" "$RD" '$CP -v --remove-destination a b'
gnu_case "--remove-destination: a FIFO" "$RD" '$CP -v --remove-destination a f'
gnu_case "--remove-destination: a device node" "$RD" '$CP -v --remove-destination a n'
gnu_case "--remove-destination: the same file" "$RD" '$CP -v --remove-destination a a'
gnu_case "--remove-destination: a new name" "$RD" '$CP -v --remove-destination a new'
gnu_case "--remove-destination: a tree" "$RD; cp -a s d" '$CP -av --remove-destination s d | sort'
gnu_case "--strip-trailing-slashes: one source" "$RD" '$CP -v --strip-trailing-slashes a/ z'
gnu_case "--strip-trailing-slashes: into a directory" "$RD" \
  '$CP -rv --strip-trailing-slashes s/ d | sort'
gnu_case "--strip-trailing-slashes: -t" "$RD" '$CP -rv --strip-trailing-slashes -t d s// | sort'

# --- -L through a symlink back up the tree: refused as cp refuses it (acp
# once went down it until the names were too long).
CY='mkdir -p s/t; echo x >s/t/f; ln -s .. s/t/up; ln -s ../s s/self'
gnu_case "-L: a cycle of symlinks" "$CY" 'timeout 10 $CP -rL s n 2>&1 | sort'
gnu_case "-L: a symlink to its own directory" 'mkdir s; echo x >s/f; ln -s . s/dot' \
  'timeout 10 $CP -rL s n'
gnu_case "-L: a cycle through the operand" 'mkdir s; echo x >s/f; ln -s s ls; ln -s ../ls s/back' \
  'timeout 10 $CP -rL ls n'

echo "acp gnu e2e: $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
