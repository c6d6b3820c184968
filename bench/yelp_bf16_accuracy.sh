#!/usr/bin/env bash
# Does --bf16 training reach the fp32 eval accuracy? The shipped Yelp demo
# (scripts/yelp_demo.sh: 2 epochs, 1000 eval reviews) in fp32 and with --bf16 for each of N
# seeds (the same seed for both precisions), then the mean accuracy of each precision, their
# difference and its standard error over the per-seed differences.
#
# One run per precision cannot answer it: two models of equal accuracy disagree on a large
# share of 1000 reviews, so single runs move by 1-2 points with the seed (and with any change
# in rounding, which changes the trajectory as a new seed does).
#   bench/yelp_bf16_accuracy.sh BERTRAIN WORK_DIR [SEEDS (default 8)] [train flags...]
set -euo pipefail
bertrain="$1" work="$2" seeds="${3:-8}"
shift $(($# < 3 ? $# : 3))
demo="$(dirname "$0")/../scripts/yelp_demo.sh"
accuracy() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['eval_accuracy'])" "$1"; }
results="$work/accuracy.tsv"
mkdir -p "$work"
: >"$results"
for seed in $(seq 1 "$seeds"); do
  "$demo" "$bertrain" "$work/fp32-$seed" --seed "$seed" "$@" >/dev/null
  "$demo" "$bertrain" "$work/bf16-$seed" --seed "$seed" --bf16 "$@" >"$work/bf16-$seed.log"
  fp32="$(accuracy "$work/fp32-$seed/run/all_results.json")"
  bf16="$(accuracy "$work/bf16-$seed/run/all_results.json")"
  printf '%s\t%s\t%s\n' "$seed" "$fp32" "$bf16" | tee -a "$results"
done
grep -m1 "bf16" "$work/bf16-1.log" || true
python3 - "$results" <<'EOF'
import statistics as st, sys
rows = [line.split() for line in open(sys.argv[1])]
fp32 = [float(r[1]) for r in rows]
bf16 = [float(r[2]) for r in rows]
diff = [b - f for f, b in zip(fp32, bf16)]
se = st.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else float("nan")
print(f"seeds {len(rows)}: fp32 mean {st.mean(fp32):.4f} (sd {st.stdev(fp32) if len(rows) > 1 else 0:.4f}), "
      f"bf16 mean {st.mean(bf16):.4f} (sd {st.stdev(bf16) if len(rows) > 1 else 0:.4f}), "
      f"bf16 - fp32 {100 * st.mean(diff):+.2f} points (standard error {100 * se:.2f})")
EOF
