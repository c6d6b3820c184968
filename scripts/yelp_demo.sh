#!/usr/bin/env bash
# The main job (README): the shipped model (config + vocab, seeded random init) fine-tuned on
# the shipped Yelp reviews for 2 epochs. One declaration for ./run, the bf16 accuracy test and
# the pretraining job (scripts/yelp_pretrain_demo.sh), which sets DEMO_MODEL to fine-tune a
# pretrained encoder instead of the random init.
#   [DEMO_MODEL=DIR] scripts/yelp_demo.sh BERTRAIN OUTPUT_DIR [train flags...]
set -euo pipefail
bertrain="$1" out="$2"
shift 2
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${DEMO_MODEL:-}"
if [ -z "$model" ]; then
  model="$out/model"
  "$bertrain" init --config "$root/models/bert-tiny-yelp/config.json" \
    --vocab "$root/models/bert-tiny-yelp/vocab.txt" --out "$model" >/dev/null
fi
"$bertrain" train --model "$model" --task sequence_classification \
  --train_file "$root/data/yelp/train.csv" --eval_file "$root/data/yelp/test.csv" \
  --output_dir "$out/run" --overwrite_output_dir \
  --num_train_epochs 2 --per_device_train_batch_size 32 --learning_rate 1e-3 \
  --max_seq_length 128 --padding longest --group_by_length \
  --logging_steps 50 --save_strategy epoch --dataloader_num_workers 1 "$@"
