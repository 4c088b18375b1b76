#!/usr/bin/env bash
# Builds acat's libFuzzer targets (tests/fuzz/fuzz_acat_*.cpp) with clang,
# ASan and UBSan, and runs each for FUZZ_SECONDS (default 30). Any crash, UB
# report or disagreement with the reference grammar in a target fails.
# Usage: scripts/fuzz-acat.sh [OUT_DIR]   (.ci/run runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
CXX=${FUZZ_CXX:-clang++}
if ! command -v "$CXX" >/dev/null; then
  echo "fuzz-acat: $CXX not found: skipped"
  exit 0
fi
mkdir -p "$out"
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -Itools/acat -Itools/common -Ilib/include)
for target in count duration seconds; do
  bin="$out/fuzz_acat_$target"
  echo "fuzz-acat: building $bin"
  nice "$CXX" "${flags[@]}" "tests/fuzz/fuzz_acat_$target.cpp" tools/acat/options.cpp \
    tools/common/quote.cpp -o "$bin"
  corpus="$out/corpus_acat_$target"
  mkdir -p "$corpus"
  # Seeds: the forms each grammar has, so the fuzzer starts from them.
  if [[ $target == count ]]; then
    seeds=(10 +3 -7 2b 1K 1kB 3KiB 1MD ' +5' $'\n5' k 99999999999999999999 16E 5bB 0x10)
  elif [[ $target == duration ]]; then
    seeds=(2 1.5 250ms 3m 1h 1d .5 1. 1e3 -1 inf)
  else
    # First byte: even for -s, odd for --max-unchanged-stats.
    seeds=(0.5 01e400 01e-310 01e-400 0nan 0inf 00x10 '0 2' 0-0 15 '1 +7' 1-1 118446744073709551616)
  fi
  i=0
  for s in "${seeds[@]}"; do
    printf '%s' "$s" >"$corpus/seed$i"
    i=$((i + 1))
  done
  echo "fuzz-acat: running $bin for $seconds s"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    nice "$bin" -max_total_time="$seconds" -max_len=64 -print_final_stats=0 "$corpus" \
    >"$out/fuzz_acat_$target.log" 2>&1 || {
    tail -n 30 "$out/fuzz_acat_$target.log"
    echo "fuzz-acat: $target FAILED"
    exit 1
  }
  grep -E '^Done|#[0-9]+.*DONE' "$out/fuzz_acat_$target.log" | tail -n 1 || true
done
echo "fuzz-acat: all targets ran clean"
