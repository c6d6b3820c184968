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
source "$(dirname "$0")/mpi_common.sh"
declare -A runs waits
for r in $(seq "$reps"); do
  for cap in 25 0; do
    mpirun -np 2 --oversubscribe --bind-to none "$build/bertrain" "${flags[@]}" --threads 1 \
      --ddp_bucket_cap_mb "$cap" --output_dir "$work/cap$cap" >/dev/null
    runs[cap$cap]+="$(rate "$work/cap$cap") "
    waits[cap$cap]+="$(result "$work/cap$cap" allreduce_wait_seconds) "
  done
done
for k in cap25 cap0; do
  /usr/bin/python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[2:]]; print(f'{sys.argv[1]:6s} samples/s {v}  median {statistics.median(v):.3f}')" "$k" ${runs[$k]}
  /usr/bin/python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[2:]]; print(f'{sys.argv[1]:6s} blocked in the sums over the run, s {v}  median {statistics.median(v):.3f}')" "$k" ${waits[$k]}
done
