#!/usr/bin/env bash
# A data-parallel checkpoint resumes at another world size and continues the same trajectory
# (issue 16): a tiny model (dropout on), dummy data, a global batch of 8 either way (2 ranks x
# 4 or 1 x 8), 6 steps straight through against 3 steps, a checkpoint, and 3 more at the other
# world size, both ways (2 -> 1 and 1 -> 2). The final weights agree within 1e-5. Extra flags
# go to every run (--zero_stage 1: the two-rank runs shard AdamW's state, and their
# checkpoints gather it). PASS or FAIL.
#   tests/mpi_resume.sh BERTRAIN MPIEXEC WORK_DIR [train flags...]
set -euo pipefail
bertrain="$1" mpiexec="$2" work="$3"
shift 3
tools="$(cd "$(dirname "$0")" && pwd)/tools"
rm -rf "$work" && mkdir -p "$work"
"$bertrain" init --preset tiny --out "$work/model" >/dev/null
flags=(train --model "$work/model" --dummy --dummy_size 64 --dummy_seq_len 32 --max_steps 6
  --logging_steps 1 --save_strategy steps --save_steps 3 --disable_tqdm --threads 1 "$@")
one() { "$bertrain" "${flags[@]}" --per_device_train_batch_size 8 "$@"; }
two() { "$mpiexec" -np 2 --oversubscribe "$bertrain" "${flags[@]}" --per_device_train_batch_size 4 "$@"; }
one --output_dir "$work/straight" >"$work/straight.log"
# 2 -> 1: the two-rank run's checkpoint-3, continued by one process.
two --output_dir "$work/a" >"$work/a.log"
mkdir -p "$work/a1" && cp -r "$work/a/checkpoint-3" "$work/a1/"
one --output_dir "$work/a1" --resume_from_checkpoint latest >"$work/a1.log"
# 1 -> 2: one process's checkpoint-3, continued by two ranks.
mkdir -p "$work/b2" && cp -r "$work/straight/checkpoint-3" "$work/b2/"
two --output_dir "$work/b2" --resume_from_checkpoint latest >"$work/b2.log"
ok=PASS
for run in a1 b2; do
  worst=$(/usr/bin/python3 "$tools/weight_diff.py" "$work/straight/model.safetensors" \
    "$work/$run/model.safetensors")
  echo "$run: largest weight difference from the straight run $worst"
  /usr/bin/python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 1e-5 else 1)" "$worst" ||
    ok=FAIL
done
echo "$ok"
