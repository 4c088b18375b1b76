#!/usr/bin/env bash
# Run GNU coreutils 9.1's own tests for tail and cat with acat in their place.
#
# coreutils' tests are a reference we run, never code we copy: the source
# package is fetched from Debian's archive into a scratch directory outside
# the repository (COREUTILS_SRC_DIR, default /var/tmp/coreutils-src).
# Not in CI: it downloads a source package and needs root for apt.
#
# How the tests find the programs: each test sources tests/init.sh, which
# remembers the directory it was started from and `path_prepend_ ./src`
# puts <that dir>/src first in PATH.  So we run the tests from a fake build
# tree whose src/ holds only wrappers `tail` and `cat` that exec acat; every
# other program comes from the system.  No ./configure: the only generated
# inputs the tests read are $CONFIG_HEADER (a one-line config.h saying
# HAVE_INOTIFY, which acat uses) and `getlimits` (a shim printing the limits
# the tail tests read).
#
# Usage: scripts/run-coreutils-tests.sh [ACAT_BINARY]
# Env:   COREUTILS_SRC_DIR  where the Debian source lives / is fetched
#        KEEP=1             keep the work directory (logs of every test)
#        ONLY=STRING        run only the tests whose path contains STRING
# Prints one line per test (PASS/FAIL/SKIP, or NOT-CLAIMED for tests of
# options acat does not claim), then "N passed, N failed, N skipped".
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
acat=${1:-$repo/build/tools/acat/acat}
acat=$(readlink -f "$acat")
[ -x "$acat" ] || { echo "run-coreutils-tests: no acat binary at $acat (build --target acat)" >&2; exit 2; }

src_root=${COREUTILS_SRC_DIR:-/var/tmp/coreutils-src}
cu=$src_root/coreutils-9.1

fetch_source() {
  mkdir -p "$src_root" || exit 2
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
     ! grep -qs '^deb-src .*bookworm' /etc/apt/sources.list; then
    cat > /etc/apt/sources.list.d/debian-src-bookworm.sources <<'SRC' || exit 2
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq || exit 2
  fi
  (cd "$src_root" && apt-get source -qq coreutils) || exit 2
  [ -d "$cu/tests" ] || { echo "run-coreutils-tests: no $cu/tests after apt-get source" >&2; exit 2; }
}
[ -f "$cu/tests/init.sh" ] || fetch_source

work=$(mktemp -d /var/tmp/acat-coreutils.XXXXXX) || exit 2
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/tests/misc" "$work/tests/tail-2" "$work/logs"
echo '#define HAVE_INOTIFY 1' > "$work/config.h"

# The wrappers log what they changed, so the report can say which tests
# relied on a dropped option.
dropped_log=$work/logs/dropped
# A failed test is run a second time from a copy whose expected messages
# name acat ("tail: x" and "cat: x" read "acat: x"; tail.pl's $prog is
# 'acat', run through src/acat, the tail wrapper), so a failure that is only
# about the program's name can be told from a real one.  (Not by filtering
# acat's stderr through sed: the test can read the file before sed has
# flushed it, and then sees it empty.)
cat > "$work/src/cat" <<W
#!/bin/bash
exec "$acat" "\$@"
W
# tail: acat is cat unless given a count or -f, so add tail's default
# "-n 10" when there is no count option.  The test-only ---disable-inotify
# chooses how GNU waits, not what it prints: it is dropped (and logged).
# -s and --max-unchanged-stats are acat's too, and passed on.
cat > "$work/src/tail" <<W
#!/bin/bash
acat="$acat"
dropped_log="$dropped_log"
W
cat >> "$work/src/tail" <<'W'
args=() count=no i=0 ddash=no
while [ $# -gt 0 ]; do
  a=$1; shift; i=$((i + 1))
  if [ $ddash = yes ]; then args+=("$a"); continue; fi
  # tail's obsolete first argument, [+-][NUM][bcl][f]; -c alone is "-c N"
  if [ $i = 1 ] && [[ $a =~ ^[+-][0-9]*[bcl]?f?$ ]] &&
     [[ $a =~ [0-9] || $a =~ ^[+-][bl]f?$ || $a =~ ^\+cf?$ ]]; then
    count=yes; args+=("$a"); continue
  fi
  case $a in
    --) ddash=yes; args+=("$a") ;;
    ---dis*) echo "${CU_TEST_NAME:-?} $a" >> "$dropped_log" ;;
    --s|--sl*|--max*)
      args+=("$a")
      case $a in *=*) ;; *) args+=("$1"); shift ;; esac ;;
    --b|--by*|--l|--li*) count=yes; args+=("$a") ;;
    --*) args+=("$a") ;;
    -?*)
      # a bundle of short options: n/c take the rest or the next argument
      b=${a#-} out=-
      while [ -n "$b" ]; do
        c=${b:0:1}; b=${b:1}
        case $c in
          n|c) count=yes; out=$out$c$b
               [ -z "$b" ] && { out="$out"; args+=("$out" "$1"); shift; out=; }
               b=; continue ;;
          s) out=$out$c$b
             [ -z "$b" ] && { args+=("$out" "$1"); shift; out=; }
             b=; continue ;;
          [0-9]) count=yes; out=$out$c ;;
          *) out=$out$c ;;
        esac
      done
      [ -n "$out" ] && [ "$out" != - ] && args+=("$out") ;;
    *) args+=("$a") ;;
  esac
done
[ $count = yes ] || args=(-n 10 "${args[@]}")
exec "$acat" "${args[@]}"
W
# getlimits: the tail tests read INT_MAX and PID_T_MAX (pid_t is int).
cat > "$work/src/getlimits" <<'W'
#!/bin/sh
echo INT_MAX=2147483647
echo INT_OFLOW=2147483648
echo PID_T_MAX=2147483647
echo UINT_MAX=4294967295
W
cp "$work/src/tail" "$work/src/acat"
chmod +x "$work/src/cat" "$work/src/tail" "$work/src/acat" "$work/src/getlimits"

# Tests for what acat does not claim (see man/acat.1): cat's -v, which is
# tail's --verbose in acat (--show-nonprinting is cat's -v there).
declare -A not_claimed=(
  [tests/misc/cat-buf.sh]='cat -v'
)

tests=()
for t in "$cu"/tests/tail-2/*.sh "$cu"/tests/misc/tail.pl "$cu"/tests/misc/cat-*.sh; do
  case $t in *"${ONLY:-}"*) tests+=("${t#"$cu"/}") ;; esac
done

pass=0 fail=0 skip=0 nc=0
failed=() nclist=()
# run_one TEST [DIR]: runs TEST (a path under tests/) from DIR (default the
# coreutils source) and logs it.
run_one() {
  local t=$1 dir=${2:-$cu} log=$work/logs/$(echo "$1" | tr / -).log
  local name=coreutils,$(echo "$t" | sed 's,/,-,g')
  (
    cd "$work" || exit 99
    . "$cu/tests/lang-default"
    export TMPDIR=/var/tmp VERSION=9.1 abs_top_builddir=$work abs_top_srcdir=$cu \
      abs_srcdir=$cu srcdir=$cu top_srcdir=$cu built_programs='tail cat sleep test head acat' fail=0 \
      host_os=linux-gnu CONFIG_HEADER=$work/config.h CU_TEST_NAME=$name \
      CC=cc AWK=awk EGREP='grep -E' EXEEXT= MAKE=make PACKAGE_VERSION=9.1 PERL=perl \
      SHELL=/bin/bash VERBOSE=yes PATH=$work/src:$PATH
    case $t in
      *.pl) f=$t timeout 600 perl -w -I"$cu/tests" -MCuSkip -MCoreutils \
              -M"CuTmpdir qw($t)" "$dir/$t" ;;
      *)    timeout 600 /bin/bash "$dir/$t" ;;
    esac
  ) > "$log" 2>&1 9>&2 < /dev/null
}
for t in "${tests[@]}"; do
  run_one "$t"; rc=$?
  note=
  grep -q "^coreutils,$(echo "$t" | sed 's,/,-,g') " "$dropped_log" 2>/dev/null &&
    note=" (dropped GNU polling options: $(grep "^coreutils,$(echo "$t" | sed 's,/,-,g') " "$dropped_log" | cut -d' ' -f2 | sed 's/=.*//' | sort -u | tr '\n' ' ' | sed 's/ $//'))"
  if [ -n "${not_claimed[$t]:-}" ]; then
    st=NOT-CLAIMED; nc=$((nc + 1)); nclist+=("$t (${not_claimed[$t]})")
  elif [ $rc = 0 ]; then st=PASS; pass=$((pass + 1))
  elif [ $rc = 77 ]; then
    st=SKIP; skip=$((skip + 1))
    note="$note: $(grep -h 'skipped test:' "$work/logs/$(echo "$t" | tr / -).log" | tail -1 | sed 's/.*skipped test: //' | cut -c1-100)"
  else
    st=FAIL; fail=$((fail + 1)); failed+=("$t"); note="$note (exit $rc)"
    cp "$work/logs/$(echo "$t" | tr / -).log" "$work/logs/$(echo "$t" | tr / -).first.log"
    # The copy whose expected messages name acat (see the wrappers above).
    mkdir -p "$work/as-acat/$(dirname "$t")"
    sed -E "s/(^|[^[:alnum:]_-])(tail|cat):/\1acat:/g; s/^my \\\$prog = 'tail';/my \\\$prog = 'acat';/" \
      "$cu/$t" > "$work/as-acat/$t"
    if run_one "$t" "$work/as-acat"; then
      note="$note [name only: passes when acat's 'acat:' prefix is read as GNU's]"
    fi
  fi
  echo "$st $t$note"
  # the perl tests check many cases: name the ones that failed
  case $st$t in FAIL*.pl)
    l=$work/logs/$(echo "$t" | tr / -)
    for f in "$l.first.log" "$l.log"; do
      [ "$f" = "$l.first.log" ] && what='failed cases' || what='still failing with the name read as GNU'"'"'s'
      echo "    $what:"
      grep -h '^[a-z]*: test .* failed\|^[a-z]*: test .* mismatch' "$f" |
        sed 's/^[a-z]*: test \([^ :]*\).*/\1/' | sort -u | tr '\n' ' ' | fold -s -w 90 | sed 's/^/      /'
      echo
    done ;;
  esac
done
if [ ${#nclist[@]} -gt 0 ]; then
  echo "not claimed (options acat does not have; result not counted):"
  for t in "${nclist[@]}"; do echo "  $t"; done
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "${KEEP:-}" = 1 ] && echo "logs: $work/logs"
[ $fail = 0 ]
