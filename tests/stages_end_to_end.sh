#!/usr/bin/env bash
# run_glue's --do_train / --do_eval / --do_predict on the shipped reviews (issue 17): the stages
# asked for run and no others. Prints PASS or FAIL.
#   tests/stages_end_to_end.sh BERTRAIN WORK_DIR
set -euo pipefail
bertrain="$1" work="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$work" && mkdir -p "$work"
py() { /usr/bin/python3 -c "$@"; }
"$bertrain" init --config "$root/models/bert-tiny-yelp/config.json" \
  --vocab "$root/models/bert-tiny-yelp/vocab.txt" --out "$work/init" >/dev/null
head -n 40 "$root/data/yelp/test.csv" >"$work/test.csv"
flags=(--train_file "$root/data/yelp/train.csv" --eval_file "$root/data/yelp/test.csv"
  --max_steps 10 --per_device_train_batch_size 16 --learning_rate 1e-3 --max_seq_length 64
  --padding longest --save_strategy no --disable_tqdm --threads 2)
ok=PASS

# All three: train, the final evaluation, predictions of the trained model.
"$bertrain" train --model "$work/init" --output_dir "$work/all" "${flags[@]}" \
  --do_train --do_eval --do_predict --test_file "$work/test.csv" >"$work/all.log"
py "
import json
r = json.load(open('$work/all/all_results.json'))
assert 'eval_accuracy' in r and 'train_runtime' in r, r
lines = open('$work/all/predict_results.txt').read().splitlines()
assert lines[0] == 'index\tprediction', lines[0]
assert [l.split('\t')[0] for l in lines[1:]] == [str(i) for i in range(40)], lines
assert all(l.split('\t')[1] in {'1', '2', '3', '4', '5'} for l in lines[1:]), lines
" || ok=FAIL

# --do_train alone: no final evaluation (the per-epoch ones follow eval_strategy), no predictions.
"$bertrain" train --model "$work/init" --output_dir "$work/train" "${flags[@]}" --do_train \
  --eval_strategy no >"$work/train.log"
py "
import json, os
r = json.load(open('$work/train/all_results.json'))
assert not any(k.startswith('eval_') for k in r), r
assert not os.path.exists('$work/train/predict_results.txt')
" || ok=FAIL

# --do_eval alone evaluates --model without training: the trained model's numbers again.
"$bertrain" train --model "$work/all" --output_dir "$work/eval" --do_eval \
  --eval_file "$root/data/yelp/test.csv" --max_seq_length 64 --padding longest \
  >"$work/eval.log"
py "
import json, os
e = json.load(open('$work/eval/eval_results.json'))
r = json.load(open('$work/all/all_results.json'))
assert abs(e['eval_accuracy'] - r['eval_accuracy']) < 1e-9, (e, r)
assert abs(e['eval_loss'] - r['eval_loss']) < 1e-5, (e, r)
assert json.load(open('$work/eval/all_results.json')) == e
assert not os.path.exists('$work/eval/trainer_state.json') and not os.path.exists('$work/eval/model.safetensors')
" || ok=FAIL

# --do_predict alone labels with --model, into an output directory it creates: the same
# predictions as the trained run's own.
"$bertrain" train --model "$work/all" --output_dir "$work/predict_only/new" --do_predict \
  --test_file "$work/test.csv" --max_seq_length 64 >"$work/predict_only.log"
cmp "$work/predict_only/new/predict_results.txt" "$work/all/predict_results.txt" || ok=FAIL

# --do_predict needs --test_file, and --test_file needs --do_predict: named, exit code 1.
for args in "--do_predict" "--do_train --test_file $work/test.csv"; do
  set +e
  # shellcheck disable=SC2086
  msg=$("$bertrain" train --model "$work/init" --output_dir "$work/bad" "${flags[@]}" $args 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 1 ] && grep -q "test_file" <<<"$msg" || { echo "not refused ($rc): $args: $msg"; ok=FAIL; }
done
# Predicting after training needs the trained model saved: refused, not run on --model.
set +e
msg=$("$bertrain" train --model "$work/init" --output_dir "$work/nosave" "${flags[@]}" --do_train \
  --do_predict --test_file "$work/test.csv" --save_final_model=false 2>&1)
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "save_final_model false does not save" <<<"$msg" ||
  { echo "not refused ($rc): $msg"; ok=FAIL; }
echo "$ok"
