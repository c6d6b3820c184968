#!/usr/bin/env bash
# Crash safety of checkpoints, with the real CLI:
#  1. SIGKILL `bertrain train` at random moments (checkpointing every step, so many kills land
#     mid-save) KILLS times; after each kill every checkpoint-<step> directory must load and
#     evaluate, and no half-written one may exist under a final name; then resume finishes the
#     run, and its final weights must equal, byte for byte, those of an uninterrupted run.
#  2. A full disk (file size limit) while saving: the save fails with a clear error and the
#     previous checkpoint still loads.
# usage: checkpoint_crash_test.sh BERTRAIN SHARED_DIR WORK_DIR [KILLS] [STEPS]
set -euo pipefail
bin="$1"; shared="$2"; work="$3"; kills="${4:-10}"; steps="${5:-40}"
rm -rf "$work"; mkdir -p "$work"
vocab="$shared/data/tokenizer/bert-base-uncased-vocab.txt"
head -200 "$shared/data/yelp/train.csv" > "$work/train.csv"
head -20 "$shared/data/yelp/test.csv" > "$work/eval.csv"
"$bin" init --preset tiny --vocab "$vocab" --num_labels 5 --out "$work/model" > /dev/null
common=(--model "$work/model" --train_file "$work/train.csv"
  --max_seq_length 32 --per_device_train_batch_size 8 --save_steps 1
  --save_total_limit 3 --logging_steps 100 --cache_dir none --disable_tqdm)
train() { "$bin" train "${common[@]}" --output_dir "$work/out" --max_steps "$steps" "$@"; }
# The reference: the same run, never interrupted.
"$bin" train "${common[@]}" --max_steps "$steps" --output_dir "$work/ref" --save_strategy no \
  > "$work/ref.log" 2>&1 || { cat "$work/ref.log"; echo "FAIL: reference run"; exit 1; }
check_checkpoints() {
  for ck in "$work"/out/checkpoint-*; do
    [ -d "$ck" ] || continue
    if ! "$bin" evaluate --model "$ck" --eval_file "$work/eval.csv" --max_seq_length 32 --json > /dev/null 2> "$work/err"; then
      echo "FAIL: $ck does not load: $(cat "$work/err")"; exit 1
    fi
  done
}
started=0
for i in $(seq 1 "$kills"); do
  if [ "$started" = 0 ]; then args=(--overwrite_output_dir); else args=(--resume_from_checkpoint latest); fi
  "$bin" train "${common[@]}" --output_dir "$work/out" --max_steps "$steps" "${args[@]}" > "$work/log" 2>&1 &  # $! is bertrain
  pid=$!
  # Kill during training, not during start-up (slow on a loaded machine): wait for the data
  # to be loaded, then a random 10-490 ms.
  for _ in $(seq 1 200); do grep -q "train data" "$work/log" 2> /dev/null && break; sleep 0.05; done
  sleep "0.$(( RANDOM % 5 ))$(( (RANDOM % 9) + 1 ))"
  kill -9 "$pid" 2> /dev/null || true
  set +e
  wait "$pid" 2> /dev/null
  rc=$?
  set -e
  # Every kill must land on a running job; a finished one would test nothing.
  [ "$rc" -eq 137 ] || { cat "$work/log"; echo "FAIL: kill $i found the run already ended (rc $rc): raise STEPS"; exit 1; }
  ls "$work"/out/checkpoint-* > /dev/null 2>&1 && started=1
  check_checkpoints
done
ls "$work"/out/checkpoint-* > /dev/null 2>&1 || { echo "FAIL: $kills kills and not one checkpoint saved"; exit 1; }
train --resume_from_checkpoint latest > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: resume after kills"; exit 1; }
grep -q "train_runtime" "$work/log" || { echo "FAIL: resumed run did not finish"; exit 1; }
check_checkpoints
cmp -s "$work/out/model.safetensors" "$work/ref/model.safetensors" ||
  { echo "FAIL: the resumed run's final weights differ from the uninterrupted run's"; exit 1; }

# SIGTERM: the step finishes, a checkpoint is saved, exit code 143.
"$bin" train "${common[@]}" --output_dir "$work/out" --max_steps 4000 --resume_from_checkpoint latest > "$work/log" 2>&1 &
pid=$!
sleep 1.5
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 143 ] || { cat "$work/log"; echo "FAIL: SIGTERM exit code $rc, expected 143"; exit 1; }
grep -q "stopped by signal 15" "$work/log" || { echo "FAIL: no stop message"; exit 1; }
check_checkpoints

# Full disk while saving a checkpoint: the old ones survive.
last=$(ls -d "$work"/out/checkpoint-* | sort -t- -k2 -n | tail -1)
set +e
( trap '' XFSZ; ulimit -f 2048; steps=4000; train --resume_from_checkpoint latest ) > "$work/log" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || { echo "FAIL: save under a 2 MiB file limit should fail"; exit 1; }
grep -q "write failed" "$work/log" || { cat "$work/log"; echo "FAIL: no clear error"; exit 1; }
[ -z "$(ls -d "$work"/out/.tmp-checkpoint-* 2> /dev/null)" ] || { echo "FAIL: temp checkpoint left behind"; exit 1; }
check_checkpoints
[ -d "$last" ] || { echo "FAIL: $last is gone"; exit 1; }
echo "PASS: $kills kills, resume to the uninterrupted run's weights, SIGTERM, full disk"
