#!/usr/bin/env bash
# Builds afifo's libFuzzer targets (tests/fuzz/fuzz_afifo_*.cpp) with clang
# and runs each for FUZZ_SECONDS (default 30). CI runs every scripts/fuzz-*.sh.
# A failing input is left in build-fuzz/ (crash-*) and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
out=build-fuzz
mkdir -p "$out"
for src in tests/fuzz/fuzz_afifo_*.cpp; do
  name=$(basename "$src" .cpp)
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Itools/afifo "$src" tools/afifo/framer.cpp -o "$out/$name"
  mkdir -p "$out/$name.corpus"
  echo "== $name for ${seconds} s"
  if ! (cd "$out" && "./$name" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    "$name.corpus" >"$name.log" 2>&1); then
    tail -n 40 "$out/$name.log" >&2
    echo "fuzz-afifo: $name failed; the input is in $out/ (crash-*), the log in $out/$name.log" >&2
    exit 1
  fi
  grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units)" "$out/$name.log" || true
done
