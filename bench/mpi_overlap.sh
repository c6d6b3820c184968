#!/usr/bin/env bash
# How much of the gradient all-reduce hides behind backward (issue 16): 2 ranks x 1 thread
# (mpirun) train bert-base shapes (random init, dummy data, seq 128, batch 8 per rank, fp32)
# with the gradients summed in DDP's 25 MiB buckets as backward finishes them, against one sum
# after backward (--ddp_bucket_cap_mb 0), REPS times alternating. Prints each run's
# train_samples_per_second and the time rank 0 sat blocked in the sums (allreduce_wait_seconds),
# and their medians.
#   bench/mpi_overlap.sh BUILD_DIR [STEPS] [REPS]
set -euo pipefail
build="$1" steps="${2:-6}" reps="${3:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$build/bertrain" init --preset bert-base-uncased --num_labels 5 --out "$work/model" >/dev/null
flags=(train --model "$work/model" --dummy --dummy_size 4096 --dummy_seq_len 128
  --per_device_train_batch_size 8 --max_steps "$steps" --save_strategy no --save_final_model=false
  --logging_steps 1000 --disable_tqdm --overwrite_output_dir --threads 1)
rate() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['train_samples_per_second'])" "$1/all_results.json"; }
wait_s() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['allreduce_wait_seconds'])" "$1/all_results.json"; }
declare -A runs waits
for r in $(seq "$reps"); do
  for cap in 25 0; do
    mpirun -np 2 --oversubscribe --bind-to none "$build/bertrain" "${flags[@]}" \
      --ddp_bucket_cap_mb "$cap" --output_dir "$work/cap$cap" >/dev/null
    runs[cap$cap]+="$(rate "$work/cap$cap") "
    waits[cap$cap]+="$(wait_s "$work/cap$cap") "
  done
done
for k in cap25 cap0; do
  /usr/bin/python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[2:]]; print(f'{sys.argv[1]:6s} samples/s {v}  median {statistics.median(v):.3f}')" "$k" ${runs[$k]}
  /usr/bin/python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[2:]]; print(f'{sys.argv[1]:6s} blocked in the sums over the run, s {v}  median {statistics.median(v):.3f}')" "$k" ${waits[$k]}
done
