#!/usr/bin/env bash
# The second job (issue 17): masked-LM pretraining of the shipped model on the shipped Yelp
# review texts (their labels unused), then the main job's fine-tuning from it, and from the
# random init alongside, the same seed: both eval accuracies and the held-out MLM loss.
# The recipe is docs/PERF.md's run E: 5000 steps of 32 reviews, one review per row, 40% of the
# tokens masked, lr 2e-3 with 6% warmup, bf16 (about 10 minutes on 2 cores).
#   [PRETRAIN_STEPS=N] scripts/yelp_pretrain_demo.sh BERTRAIN OUTPUT_DIR [fine-tuning flags...]
set -euo pipefail
bertrain="$1" out="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
steps="${PRETRAIN_STEPS:-5000}"
mkdir -p "$out"
"$bertrain" init --config "$root/models/bert-tiny-yelp/config.json" \
  --vocab "$root/models/bert-tiny-yelp/vocab.txt" --out "$out/init" >/dev/null
"$bertrain" pretrain --model "$out/init" \
  --train_file "$root/data/yelp/train.csv" --eval_file "$root/data/yelp/test.csv" \
  --output_dir "$out/pretrained" --overwrite_output_dir --max_steps "$steps" \
  --per_device_train_batch_size 32 --learning_rate 2e-3 --warmup_ratio 0.06 \
  --max_seq_length 128 --line_by_line --padding longest --group_by_length \
  --mlm_probability 0.4 --bf16 --eval_strategy no --save_strategy no \
  --logging_steps 500 --disable_tqdm >"$out/pretrain.log"
DEMO_MODEL="$out/pretrained" "$here/yelp_demo.sh" "$bertrain" "$out/from_pretrained" "$@" \
  >"$out/from_pretrained.log"
"$here/yelp_demo.sh" "$bertrain" "$out/from_random_init" "$@" >"$out/from_random_init.log"
/usr/bin/env python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
mlm = json.load(open(f"{out}/pretrained/all_results.json"))
print(f"pretraining: {mlm.get('train_runtime', 0):.0f} s, held-out MLM loss {mlm['eval_loss']:.3f} "
      f"(perplexity {mlm['eval_perplexity']:.1f}; the texts' unigram entropy is 6.40 nats)")
for name in ("from_pretrained", "from_random_init"):
    r = json.load(open(f"{out}/{name}/run/all_results.json"))
    print(f"{name}: eval_accuracy {r['eval_accuracy']:.4f}, eval_loss {r['eval_loss']:.4f}")
PY
