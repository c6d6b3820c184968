#!/usr/bin/env bash
# Builds the fuzz targets with clang (ASan + UBSan + libFuzzer) and runs each for SECONDS
# (default 60) on a copy of the seed corpus, one target per core at a time; exits non-zero on
# any finding.
#   fuzz/run.sh [SECONDS] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors config vocab reader tokenize cli_values torch_pickle)
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
  -DBERTRAIN_FUZZ=ON -DBERTRAIN_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
export TMPDIR="${TMPDIR:-/tmp}"
mkdir -p build-fuzz/logs

fuzz_one() {
  local t="$1" work="build-fuzz/corpus/$1" rc=0
  mkdir -p "$work" "build-fuzz/findings/$t"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  # -rss_limit_mb: the parsers must refuse absurd sizes before allocating them.
  build-fuzz/fuzz/fuzz_"$t" "$work" -max_total_time="$seconds" -rss_limit_mb=1024 \
    -timeout=10 -max_len=65536 -artifact_prefix="build-fuzz/findings/$t/" -print_final_stats=1 \
    > "build-fuzz/logs/$t.log" 2>&1 || rc=$?
  echo "$rc" > "build-fuzz/logs/$t.rc"
}

echo "fuzzing ${targets[*]}: ${seconds}s each, $(nproc) at a time"
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
done
wait
failed=0
for t in "${targets[@]}"; do
  echo "== fuzz_$t"
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added|==|SUMMARY|ERROR|Test unit written)" \
    "build-fuzz/logs/$t.log" || true
  if ls build-fuzz/findings/"$t"/* >/dev/null 2>&1 || [ "$(cat "build-fuzz/logs/$t.rc")" != 0 ]; then
    echo "fuzz_$t: failed (exit $(cat "build-fuzz/logs/$t.rc")); findings in build-fuzz/findings/$t, log in build-fuzz/logs/$t.log" >&2
    failed=1
  fi
done
exit "$failed"
