#!/usr/bin/env bash
# Token classification (run_ner) end to end on the shipped WNUT-17 files (issue 18): train the
# shipped tiny model's encoder with a new 13-tag head, evaluate on dev, and check the outputs by
# their names: eval_precision/recall/f1/accuracy, config.json's BertForTokenClassification and
# tags, and eval_predictions.jsonl, from which seqeval's numbers are computed again here (an
# independent Python reading of its rules) and compared with the run's. Prints PASS or FAIL.
#   tests/ner_end_to_end.sh BERTRAIN WORK_DIR
set -euo pipefail
bertrain="$1" work="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
ner="$root/../shared/data/ner"
rm -rf "$work" && mkdir -p "$work"
"$bertrain" init --config "$root/models/bert-tiny-yelp/config.json" \
  --vocab "$root/models/bert-tiny-yelp/vocab.txt" --out "$work/init" >/dev/null
"$bertrain" train --model "$work/init" --task token_classification --ignore_mismatched_sizes \
  --train_file "$ner/wnut17-train.conll" --eval_file "$ner/wnut17-dev.conll" \
  --output_dir "$work/run" --max_steps 40 --per_device_train_batch_size 32 --learning_rate 2e-3 \
  --max_seq_length 64 --padding longest --logging_steps 20 --save_strategy no --disable_tqdm \
  --threads 2 >"$work/train.log"
ok=PASS
# `memory` with the run's flags predicts the run's planned peak (its tags read as train reads them).
"$bertrain" memory --model "$work/init" --task token_classification \
  --train_file "$ner/wnut17-train.conll" --eval_file "$ner/wnut17-dev.conll" \
  --per_device_train_batch_size 32 --max_seq_length 64 --json >"$work/memory.json"
/usr/bin/python3 -c "
import json
m = json.load(open('$work/memory.json')); r = json.load(open('$work/run/all_results.json'))
assert m['peak_bytes'] == r['predicted_peak_memory_bytes'], (m['peak_bytes'], r['predicted_peak_memory_bytes'])
assert r['peak_memory_bytes'] <= r['predicted_peak_memory_bytes'], r
" || ok=FAIL
/usr/bin/python3 - "$work/run" "$ner/wnut17-dev.conll" <<'PY' || ok=FAIL
import json, sys
run, dev = sys.argv[1], sys.argv[2]
r = json.load(open(f"{run}/all_results.json"))
c = json.load(open(f"{run}/config.json"))
tags = ["B-corporation", "B-creative-work", "B-group", "B-location", "B-person", "B-product",
        "I-corporation", "I-creative-work", "I-group", "I-location", "I-person", "I-product", "O"]
assert c["architectures"] == ["BertForTokenClassification"], c["architectures"]
assert [c["id2label"][str(i)] for i in range(13)] == tags, c["id2label"]
gold, words = [], []
for line in open(dev, encoding="utf-8"):
    f = line.split()
    if f: words.append((f[0], f[-1])); continue
    if words: gold.append(words); words = []
if words: gold.append(words)
pred = [json.loads(l) for l in open(f"{run}/eval_predictions.jsonl")]
assert len(pred) == len(gold) == 1009, (len(pred), len(gold))
truth, guess = [], []
for p, g in zip(pred, gold):
    assert p["tokens"] == [w for w, _ in g], (p, g)
    kept = [(t, q) for (_, t), q in zip(g, p["predicted_tags"]) if q is not None]
    assert {q for _, q in kept} <= set(tags)
    truth.append([t for t, _ in kept]); guess.append([q for _, q in kept])
def entities(seq):  # seqeval's default rules, read independently
    out, prev, ptype, begin = set(), "O", "", 0
    for i, t in enumerate(seq + ["O"]):
        tag, typ = t[0], (t[1:].split("-", 1)[-1] or "_")
        end = prev in "ES" or (prev in "BI" and tag in "BSO") or (prev not in "O." and ptype != typ)
        start = tag in "BS" or (prev in "ESO" and tag in "EI") or (tag not in "O." and ptype != typ)
        if end: out.add((ptype, begin, i - 1))
        if start: begin = i
        prev, ptype = tag, typ
    return out
correct = npred = ntrue = 0
for t, g in zip(truth, guess):
    te, ge = entities(t), entities(g)
    correct += len(te & ge); npred += len(ge); ntrue += len(te)
p = correct / npred if npred else 0.0
rc = correct / ntrue if ntrue else 0.0
f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
acc = sum(a == b for t, g in zip(truth, guess) for a, b in zip(t, g)) / sum(map(len, truth))
want = {"eval_precision": p, "eval_recall": rc, "eval_f1": f1, "eval_accuracy": acc}
print("ner:", {k: round(r[k], 4) for k in want}, "entities predicted", npred, "true", ntrue)
for k, v in want.items():
    assert abs(r[k] - v) < 1e-9, (k, r[k], v)
assert r["eval_accuracy"] > 0.85, r["eval_accuracy"]  # the O tag alone gives 0.92
PY
# predict: raw text or words in; each word's tag, and the entities with character spans.
printf '%s\n' 'Watching Rick and Morty in New York' '{"tokens": ["Emma", "visited", "Zürichsee"]}' |
  "$bertrain" predict --model "$work/run" >"$work/predict.jsonl" || ok=FAIL
/usr/bin/python3 - "$work/predict.jsonl" <<'PY' || ok=FAIL
import json, sys
p = [json.loads(l) for l in open(sys.argv[1])]
assert [x["words"] for x in p] == [["Watching", "Rick", "and", "Morty", "in", "New", "York"],
                                   ["Emma", "visited", "Zürichsee"]], p
for x in p:
    assert set(x) == {"entities", "words", "tags", "scores"} and len(x["tags"]) == len(x["words"])
    assert all(0 < s <= 1 for s in x["scores"])
PY
# `evaluate` on the saved model with the run's data flags: the run's final numbers and
# predictions file again (the same model, windows and batches).
"$bertrain" evaluate --model "$work/run" --eval_file "$ner/wnut17-dev.conll" --max_seq_length 64 \
  --padding longest --threads 2 --output_dir "$work/ev" --json >"$work/evaluate.json" || ok=FAIL
/usr/bin/python3 - "$work" <<'PY' || ok=FAIL
import json, sys
work = sys.argv[1]
e = json.load(open(f"{work}/evaluate.json")); r = json.load(open(f"{work}/run/all_results.json"))
keys = [k for k in r if k.startswith("eval_") and k not in ("eval_samples", "eval_runtime")]
assert len(keys) >= 3, keys
for k in keys:
    assert abs(e[k] - r[k]) < 1e-9, (k, e[k], r[k])
assert open(f"{work}/ev/eval_predictions.jsonl").read() == open(f"{work}/run/eval_predictions.jsonl").read()
PY
# run_ner's --do_eval alone: the same numbers into eval_results.json, with the predictions; a
# --task that is not the model's head is refused, naming it.
"$bertrain" train --do_eval --task token_classification --model "$work/run" \
  --eval_file "$ner/wnut17-dev.conll" --max_seq_length 64 --padding longest --threads 2 \
  --output_dir "$work/do_eval" >/dev/null || ok=FAIL
/usr/bin/python3 -c "
import json
e = json.load(open('$work/do_eval/eval_results.json')); r = json.load(open('$work/run/all_results.json'))
assert abs(e['eval_f1'] - r['eval_f1']) < 1e-9 and abs(e['eval_loss'] - r['eval_loss']) < 1e-9, (e, r)
assert open('$work/do_eval/eval_predictions.jsonl').read() == open('$work/run/eval_predictions.jsonl').read()
" || ok=FAIL
if "$bertrain" train --do_eval --task question_answering --model "$work/run" \
  --eval_file "$ner/wnut17-dev.conll" --output_dir "$work/wrong" 2>"$work/wrong.err" >/dev/null; then
  ok=FAIL
fi
grep -q "a BertForTokenClassification, not a model for --task question_answering" "$work/wrong.err" || ok=FAIL
# --do_predict on a labelled test file (here dev again): run_ner's predict_ metrics and the
# predictions, the same as the evaluation's.
"$bertrain" train --do_predict --model "$work/run" --test_file "$ner/wnut17-dev.conll" \
  --max_seq_length 64 --padding longest --threads 2 --output_dir "$work/do_predict" >/dev/null || ok=FAIL
/usr/bin/python3 -c "
import json
p = json.load(open('$work/do_predict/predict_results.json')); r = json.load(open('$work/run/all_results.json'))
for k in ('f1', 'precision', 'recall', 'accuracy', 'loss'):
    assert abs(p['predict_' + k] - r['eval_' + k]) < 1e-9, (k, p, r)
assert open('$work/do_predict/predict_predictions.jsonl').read() == open('$work/run/eval_predictions.jsonl').read()
" || ok=FAIL
echo "$ok"
