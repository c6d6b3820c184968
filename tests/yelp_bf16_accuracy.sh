#!/usr/bin/env bash
# The Yelp demo (scripts/yelp_demo.sh) in fp32 and with --bf16: the bf16 run must reach the
# fp32 eval accuracy within 1 point (issue 14). Prints both; PASS or FAIL.
#   tests/yelp_bf16_accuracy.sh BERTRAIN WORK_DIR
set -euo pipefail
bertrain="$1" work="$2"
demo="$(dirname "$0")/../scripts/yelp_demo.sh"
accuracy() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['eval_accuracy'])" "$1"; }
"$demo" "$bertrain" "$work/fp32" >/dev/null
"$demo" "$bertrain" "$work/bf16" --bf16 >"$work/bf16.log"
grep -m1 "bf16" "$work/bf16.log" || true
fp32="$(accuracy "$work/fp32/run/all_results.json")"
bf16="$(accuracy "$work/bf16/run/all_results.json")"
echo "eval accuracy: fp32 $fp32, bf16 $bf16"
/usr/bin/python3 -c "import sys; sys.exit(0 if abs($bf16 - $fp32) <= 0.01 else 1)" && echo PASS || echo FAIL
