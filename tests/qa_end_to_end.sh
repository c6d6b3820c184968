#!/usr/bin/env bash
# Extractive QA (run_qa) end to end on the shipped SQuAD part (issue 18): train on questions of
# its first 20 articles, evaluate on its last 4, and check the outputs by their names:
# eval_exact_match and eval_f1 recomputed here from eval_predictions.json with the official
# SQuAD v1.1 definitions (an independent Python reading), every answer a span of its context,
# config.json's BertForQuestionAnswering. Prints PASS or FAIL.
#   tests/qa_end_to_end.sh BERTRAIN WORK_DIR
set -euo pipefail
bertrain="$1" work="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
squad="$root/../shared/data/squad/dev-v1.1-part1.json"
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 - "$squad" "$work" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
json.dump({"version": "1.1", "data": d["data"][:20]}, open(f"{sys.argv[2]}/train.json", "w"))
json.dump({"version": "1.1", "data": d["data"][20:]}, open(f"{sys.argv[2]}/eval.json", "w"))
PY
"$bertrain" init --config "$root/models/bert-tiny-yelp/config.json" \
  --vocab "$root/models/bert-tiny-yelp/vocab.txt" --out "$work/init" >/dev/null
"$bertrain" train --model "$work/init" --task question_answering --ignore_mismatched_sizes \
  --train_file "$work/train.json" --eval_file "$work/eval.json" --max_train_samples 600 \
  --max_eval_samples 200 --output_dir "$work/run" --num_train_epochs 1 \
  --per_device_train_batch_size 32 --learning_rate 1e-3 --max_seq_length 192 --doc_stride 64 \
  --padding longest --logging_steps 10 --save_strategy no --disable_tqdm --threads 2 \
  >"$work/train.log"
ok=PASS
/usr/bin/python3 - "$work" <<'PY' || ok=FAIL
import collections, json, re, string, sys
work = sys.argv[1]
r = json.load(open(f"{work}/run/all_results.json"))
c = json.load(open(f"{work}/run/config.json"))
assert c["architectures"] == ["BertForQuestionAnswering"], c["architectures"]
pred = json.load(open(f"{work}/run/eval_predictions.json"))
gold, contexts = {}, {}
for a in json.load(open(f"{work}/eval.json"))["data"]:
    for p in a["paragraphs"]:
        for q in p["qas"]:
            if len(gold) < 200:
                gold[q["id"]] = [x["text"] for x in q["answers"]]; contexts[q["id"]] = p["context"]
assert set(pred) == set(gold), (len(pred), len(gold))
def normalize(s):
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())
def f1(p, g):
    p, g = normalize(p).split(), normalize(g).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0: return 0.0
    pr, rc = same / len(p), same / len(g)
    return 2 * pr * rc / (pr + rc)
em = 100.0 * sum(max(normalize(pred[i]) == normalize(g) for g in gs) for i, gs in gold.items()) / len(gold)
f = 100.0 * sum(max(f1(pred[i], g) for g in gs) for i, gs in gold.items()) / len(gold)
print("qa:", {"eval_exact_match": round(r["eval_exact_match"], 4), "eval_f1": round(r["eval_f1"], 4)})
assert abs(r["eval_exact_match"] - em) < 1e-9 and abs(r["eval_f1"] - f) < 1e-9, (r, em, f)
assert all(t == "empty" or t in contexts[i] for i, t in pred.items())
assert r["eval_f1"] > 0, r  # some overlap after one epoch
PY
# predict: a question and a context in; the answer, its character span and its score.
printf '%s\n' '{"question": "Who won?", "context": "Super Bowl 50 was won by the Dénver Broncos."}' |
  "$bertrain" predict --model "$work/run" >"$work/predict.jsonl" || ok=FAIL
/usr/bin/python3 - "$work/predict.jsonl" <<'PY' || ok=FAIL
import json, sys
p = json.loads(open(sys.argv[1]).read())
context = "Super Bowl 50 was won by the Dénver Broncos."
assert set(p) == {"answer", "start", "end", "score"}, p
assert p["answer"] == "empty" or context[p["start"]:p["end"]] == p["answer"], p
PY
# `evaluate` on the saved model with the run's data flags: the run's final numbers and
# predictions file again (the same model, windows and batches).
"$bertrain" evaluate --model "$work/run" --eval_file "$work/eval.json" --max_eval_samples 200 \
  --max_seq_length 192 --doc_stride 64 --padding longest --threads 2 --output_dir "$work/ev" \
  --json >"$work/evaluate.json" || ok=FAIL
/usr/bin/python3 - "$work" <<'PY' || ok=FAIL
import json, sys
work = sys.argv[1]
e = json.load(open(f"{work}/evaluate.json")); r = json.load(open(f"{work}/run/all_results.json"))
keys = [k for k in r if k.startswith("eval_") and k not in ("eval_samples", "eval_runtime")]
assert len(keys) >= 3, keys
for k in keys:
    assert abs(e[k] - r[k]) < 1e-9, (k, e[k], r[k])
assert open(f"{work}/ev/eval_predictions.json").read() == open(f"{work}/run/eval_predictions.json").read()
PY
# --do_predict on a labelled test file (the evaluation questions): run_qa's predict_ metrics
# and predictions, the same as the evaluation's.
"$bertrain" train --do_predict --model "$work/run" --test_file "$work/eval.json" \
  --max_eval_samples 200 --max_seq_length 192 --doc_stride 64 --padding longest --threads 2 \
  --output_dir "$work/do_predict" >/dev/null || ok=FAIL
/usr/bin/python3 -c "
import json
p = json.load(open('$work/do_predict/predict_results.json')); r = json.load(open('$work/run/all_results.json'))
for k in ('exact_match', 'f1', 'loss'):
    assert abs(p['predict_' + k] - r['eval_' + k]) < 1e-9, (k, p, r)
assert json.load(open('$work/do_predict/predict_predictions.json')) == json.load(open('$work/run/eval_predictions.json'))
" || ok=FAIL
# SQuAD v2 (--version_2_with_negative): the evaluation questions with every third one made
# unanswerable; the v2.0 script's metrics recomputed here from the predictions.
/usr/bin/python3 - "$work" <<'PY'
import json, sys
d = json.load(open(f"{sys.argv[1]}/eval.json"))
k = 0
for a in d["data"]:
    for p in a["paragraphs"]:
        for q in p["qas"]:
            if k % 3 == 0: q["answers"] = []; q["is_impossible"] = True
            k += 1
json.dump(d, open(f"{sys.argv[1]}/eval_v2.json", "w"))
PY
"$bertrain" evaluate --model "$work/run" --eval_file "$work/eval_v2.json" --max_eval_samples 200 \
  --max_seq_length 192 --doc_stride 64 --padding longest --threads 2 --version_2_with_negative \
  --output_dir "$work/v2" --json >"$work/v2.json" || ok=FAIL
# With a threshold no null score reaches, every answer is v1's (the same windows and spans).
"$bertrain" evaluate --model "$work/run" --eval_file "$work/eval_v2.json" --max_eval_samples 200 \
  --max_seq_length 192 --doc_stride 64 --padding longest --threads 2 --version_2_with_negative \
  --null_score_diff_threshold 1e9 --output_dir "$work/v2_never_null" --json >/dev/null || ok=FAIL
/usr/bin/python3 - "$work" <<'PY' || ok=FAIL
import collections, json, re, string, sys
work = sys.argv[1]
r = json.load(open(f"{work}/v2.json")); pred = json.load(open(f"{work}/v2/eval_predictions.json"))
gold = {}
for a in json.load(open(f"{work}/eval_v2.json"))["data"]:
    for p in a["paragraphs"]:
        for q in p["qas"]:
            if len(gold) < 200: gold[q["id"]] = [x["text"] for x in q["answers"]]
def normalize(s):
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())
def f1(g, p):
    g, p = normalize(g).split(), normalize(p).split()
    if not g or not p: return float(g == p)
    same = sum((collections.Counter(g) & collections.Counter(p)).values())
    if same == 0: return 0.0
    return 2 * same / len(p) * same / len(g) / (same / len(p) + same / len(g))
em, f, has = {}, {}, {}
for i, gs in gold.items():
    gs = [a for a in gs if normalize(a)] or [""]
    has[i] = gs != [""]
    em[i] = max(float(normalize(a) == normalize(pred[i])) for a in gs)
    f[i] = max(f1(a, pred[i]) for a in gs)
want = {"eval_exact": 100 * sum(em.values()) / len(em), "eval_f1": 100 * sum(f.values()) / len(f),
        "eval_total": len(em)}
for name, ids in (("HasAns", [i for i in has if has[i]]), ("NoAns", [i for i in has if not has[i]])):
    want[f"eval_{name}_exact"] = 100 * sum(em[i] for i in ids) / len(ids)
    want[f"eval_{name}_f1"] = 100 * sum(f[i] for i in ids) / len(ids)
    want[f"eval_{name}_total"] = len(ids)
print("qa v2:", {k: round(r[k], 4) for k in want}, "null answers", sum(v == "" for v in pred.values()))
for k, v in want.items():
    assert abs(r[k] - v) < 1e-9, (k, r[k], v)
never = json.load(open(f"{work}/v2_never_null/eval_predictions.json"))
assert never == json.load(open(f"{work}/run/eval_predictions.json"))
PY
echo "$ok"
