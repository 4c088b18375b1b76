#!/usr/bin/env bash
# fds 0-2 in every tool (tools/common/std_fds): a closed stdout is never
# taken by the ring or a file (the tool's output would go into it), and a
# lost write to stdout is an error, as for GNU cat and cp.
# Usage: std_fds_e2e.sh ACAT ACP AFIFO AIOBENCH
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ACAT=$(readlink -f "$1") ACP=$(readlink -f "$2") AFIFO=$(readlink -f "$3") AIOBENCH=$(readlink -f "$4")
T=$(mktemp -d /tmp/std-fds-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"

printf 'one line\n' >in

# --help and --version into a full disk: "TOOL: write error", exit 1, as cp.
want_full=$(cp --help 2>&1 >/dev/full | sed 's/^cp: //')
for tool in "$ACAT" "$ACP" "$AFIFO" "$AIOBENCH"; do
  name=$(basename "$tool")
  for opt in --help --version; do
    err=$("$tool" "$opt" 2>&1 >/dev/full)
    eq "$name $opt > /dev/full: exit" "$?" 1
    eq "$name $opt > /dev/full: message" "$err" "$name: $want_full"
  done
done

# A closed stdout: writing to it fails with EBADF, as for cat and cp.
err=$("$AFIFO" mux --until=eof in 2>&1 >&-)
eq "afifo mux >&-: exit" "$?" 1
eq "afifo mux >&-: the error is stdout's, not the ring's" "$err" \
  "afifo: standard output: Bad file descriptor"
err=$("$ACAT" in 2>&1 >&-)
eq "acat >&-: exit" "$?" 1
eq "acat >&-: cat's message" "$err" "$(cat in 2>&1 >&- | sed 's/^cat:/acat:/')"

# acp -v: its lines go through stdio; one lost is exit 1, the copy made.
err=$("$ACP" -v in acp_out 2>&1 >&-)
eq "acp -v >&-: exit 1 as cp" "$?" 1
eq "acp -v >&-: cp's message" "$err" "$(cp -v in cp_out 2>&1 >&- | sed 's/^cp:/acp:/')"
eq "acp -v >&-: the copy is made" "$(cat acp_out 2>&1)" "one line"
err=$("$ACP" -v in acp_full 2>&1 >/dev/full)
eq "acp -v > /dev/full: exit 1 as cp" "$?" 1
eq "acp -v > /dev/full: cp's message" "$err" "$(cp -v in cp_full 2>&1 >/dev/full | sed 's/^cp:/acp:/')"
# A closed stdin is not taken by the destination file either.
"$ACP" in acp_in <&-
eq "acp <&-: exit" "$?" 0
eq "acp <&-: the copy" "$(cat acp_in)" "one line"

echo "std fds e2e: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
