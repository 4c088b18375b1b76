# The pass/fail counters and checks every end-to-end script shares.
# Sourced; the script prints "$PASSES passed, $FAILS failed" and exits on FAILS.
FAILS=0
PASSES=0
ok() { PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# eq DESC GOT WANT
eq() { if [[ "$2" == "$3" ]]; then ok; else fail "$1: got '$2', want '$3'"; fi; }
