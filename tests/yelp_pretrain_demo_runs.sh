#!/usr/bin/env bash
# The pretraining job (scripts/yelp_pretrain_demo.sh) end to end at a few steps: it pretrains,
# fine-tunes the pretrained encoder (its pooler and classifier new, as transformers reports)
# and the random init, and prints both accuracies and the MLM loss. Prints PASS or FAIL.
#   tests/yelp_pretrain_demo_runs.sh BERTRAIN WORK_DIR
set -euo pipefail
bertrain="$1" work="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$work"
PRETRAIN_STEPS=10 "$root/scripts/yelp_pretrain_demo.sh" "$bertrain" "$work" --max_steps 5 \
  >"$work.out" 2>&1 || { cat "$work.out"; echo FAIL; exit 0; }
ok=PASS
for line in "pretraining: .* held-out MLM loss" "from_pretrained: eval_accuracy" \
  "from_random_init: eval_accuracy"; do
  grep -q "$line" "$work.out" || ok=FAIL
done
python3 -c "import json; c = json.load(open('$work/pretrained/config.json')); assert c['architectures'] == ['BertForMaskedLM']" || ok=FAIL
grep -q "newly initialized: \[bert.pooler.dense.weight, bert.pooler.dense.bias, classifier.weight, classifier.bias\]" \
  "$work/from_pretrained.log" || ok=FAIL
cat "$work.out"
echo "$ok"
