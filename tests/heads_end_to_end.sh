#!/usr/bin/env bash
# Regression and multi-label end to end on shipped data (issue 17): train with evaluation,
# `evaluate`, `predict`. Regression: the Yelp reviews' stars as numbers (--problem_type
# regression); multi-label: the entity types each WNUT-17 text names (data/wnut_types, JSON
# arrays of names, the problem type inferred; its evaluation file given as run_glue's
# --validation_file). Checks the metrics by their names, the saved
# problem_type, what predict prints, and that regression learns (Pearson > 0.3 after 60 steps;
# a model that learned nothing sits near 0). Prints PASS or FAIL.
#   tests/heads_end_to_end.sh BERTRAIN WORK_DIR
set -euo pipefail
bertrain="$1" work="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$work" && mkdir -p "$work"
py() { /usr/bin/python3 -c "$@"; }
init() {
  "$bertrain" init --config "$root/models/bert-tiny-yelp/config.json" \
    --vocab "$root/models/bert-tiny-yelp/vocab.txt" --num_labels "$2" --out "$1" >/dev/null
}
flags=(--per_device_train_batch_size 32 --learning_rate 1e-3 --max_seq_length 64
  --padding longest --logging_steps 20 --save_strategy no --disable_tqdm --threads 2)
ok=PASS

init "$work/rg_model" 1
"$bertrain" train --model "$work/rg_model" --train_file "$root/data/yelp/train.csv" \
  --eval_file "$root/data/yelp/test.csv" --problem_type regression --max_steps 60 \
  --output_dir "$work/rg" "${flags[@]}" >"$work/rg.log"
py "
import json, sys
r = json.load(open('$work/rg/all_results.json'))
c = json.load(open('$work/rg/config.json'))
print('regression:', {k: round(r[k], 4) for k in ('eval_mse', 'eval_pearson', 'eval_spearmanr')})
assert c['problem_type'] == 'regression' and c['id2label'] == {'0': 'LABEL_0'}, c
assert r['eval_pearson'] > 0.3, r['eval_pearson']
" || ok=FAIL
"$bertrain" evaluate --model "$work/rg" --eval_file "$root/data/yelp/test.csv" --json \
  --max_seq_length 64 >"$work/rg_eval.json"
py "
import json
e = json.load(open('$work/rg_eval.json')); r = json.load(open('$work/rg/all_results.json'))
assert abs(e['eval_mse'] - r['eval_mse']) < 1e-6 and e['problem_type'] == 'regression', e
" || ok=FAIL
printf '%s\n' '{"text": "Rude staff, cold food, never again."}' |
  "$bertrain" predict --model "$work/rg" >"$work/rg_pred.jsonl"
py "
import json
p = [json.loads(l) for l in open('$work/rg_pred.jsonl')]
assert len(p) == 1 and set(p[0]) == {'value'}, p
" || ok=FAIL
# --do_predict writes run_glue's predict_results.txt: the value to 3 decimals, the same value.
head -n 5 "$root/data/yelp/test.csv" >"$work/rg_test.csv"
"$bertrain" train --model "$work/rg" --do_predict --test_file "$work/rg_test.csv" \
  --output_dir "$work/rg_do_predict" --max_seq_length 64 >/dev/null
/usr/bin/python3 - "$root/data/yelp/test.csv" <<PY | "$bertrain" predict --model "$work/rg" \
  --max_seq_length 64 >"$work/rg_pred5.jsonl" || ok=FAIL
import csv, json, sys
for row in list(csv.reader(open(sys.argv[1])))[:5]: print(json.dumps({"text": row[1]}))
PY
py "
import json, re
lines = open('$work/rg_do_predict/predict_results.txt').read().splitlines()
want = ['%.3f' % json.loads(l)['value'] for l in open('$work/rg_pred5.jsonl')]
assert lines == ['index\tprediction'] + ['%d\t%s' % (i, v) for i, v in enumerate(want)], (lines, want)
" || ok=FAIL

init "$work/ml_model" 6
"$bertrain" train --model "$work/ml_model" --train_file "$root/data/wnut_types/train.jsonl" \
  --validation_file "$root/data/wnut_types/dev.jsonl" --max_steps 20 --output_dir "$work/ml" \
  "${flags[@]}" >"$work/ml.log"
py "
import json
r = json.load(open('$work/ml/all_results.json'))
c = json.load(open('$work/ml/config.json'))
print('multi-label:', {k: round(r[k], 4) for k in ('eval_f1_micro', 'eval_f1_macro', 'eval_subset_accuracy')})
assert c['problem_type'] == 'multi_label_classification', c
names = [c['id2label'][str(i)] for i in range(6)]
assert names == ['corporation', 'creative-work', 'group', 'location', 'person', 'product'], names
assert 0 <= r['eval_subset_accuracy'] <= 1 and r['eval_samples'] == 1009, r
" || ok=FAIL
printf '%s\n' '{"text": "Watching Rick and Morty in New York"}' |
  "$bertrain" predict --model "$work/ml" >"$work/ml_pred.jsonl"
py "
import json
p = json.loads(open('$work/ml_pred.jsonl').readline())
assert set(p) == {'labels', 'scores', 'probabilities'} and len(p['probabilities']) == 6, p
assert p['labels'] == [n for n, q in zip(['corporation', 'creative-work', 'group', 'location',
    'person', 'product'], p['probabilities']) if q >= 0.5], p
" || ok=FAIL
# --do_predict: a multi-label's labels as a JSON array, as predict gives them.
printf '%s\n' '{"text": "Watching Rick and Morty in New York"}' >"$work/ml_test.jsonl"
"$bertrain" train --model "$work/ml" --do_predict --test_file "$work/ml_test.jsonl" \
  --output_dir "$work/ml_do_predict" >/dev/null
py "
import json
lines = open('$work/ml_do_predict/predict_results.txt').read().splitlines()
p = json.loads(open('$work/ml_pred.jsonl').readline())
assert lines[0] == 'index\tprediction' and lines[1].split('\t')[0] == '0', lines
assert json.loads(lines[1].split('\t')[1]) == p['labels'], (lines, p)
" || ok=FAIL
echo "$ok"
