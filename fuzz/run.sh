#!/usr/bin/env bash
# Builds the fuzz targets with clang (ASan + UBSan + libFuzzer) and runs each for SECONDS
# (default 60) on a copy of the seed corpus; exits non-zero on any finding.
#   fuzz/run.sh [SECONDS] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors config vocab reader tokenize cli_values)
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
  -DBERTRAIN_FUZZ=ON -DBERTRAIN_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
export TMPDIR="${TMPDIR:-/tmp}"
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"
  mkdir -p "$work" "build-fuzz/findings/$t"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== fuzz_$t: ${seconds}s"
  # -rss_limit_mb: the parsers must refuse absurd sizes before allocating them.
  build-fuzz/fuzz/fuzz_"$t" "$work" -max_total_time="$seconds" -rss_limit_mb=1024 \
    -timeout=10 -max_len=65536 -artifact_prefix="build-fuzz/findings/$t/" -print_final_stats=1 \
    2>&1 | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added|==|SUMMARY|ERROR|Test unit written)" || true
  if ls build-fuzz/findings/"$t"/* >/dev/null 2>&1; then
    echo "fuzz_$t: findings in build-fuzz/findings/$t" >&2
    exit 1
  fi
done
