#!/usr/bin/env bash
# Data-parallel scaling on this machine (issue 16): bert-base shapes, random init, dummy data
# (seq 128, batch 8 per rank), fp32, a few optimizer steps, through `bertrain train`: 1 rank x 1
# thread, 2 ranks x 1 thread (mpirun, one global batch of 16) and 1 rank x 2 threads, each
# REPS times, alternating. Prints each run's train_samples_per_second (all ranks' samples over
# the run, first step included) and the medians.
#   bench/mpi_scaling.sh BUILD_DIR [STEPS] [REPS]
set -euo pipefail
build="$1" steps="${2:-6}" reps="${3:-3}"
source "$(dirname "$0")/mpi_common.sh"
declare -A runs
for r in $(seq "$reps"); do
  "$build/bertrain" "${flags[@]}" --threads 1 --output_dir "$work/a" >/dev/null
  runs[one_rank_1t]+="$(rate "$work/a") "
  mpirun -np 2 --oversubscribe --bind-to none "$build/bertrain" "${flags[@]}" --threads 1 \
    --output_dir "$work/b" >/dev/null
  runs[two_ranks_1t]+="$(rate "$work/b") "
  "$build/bertrain" "${flags[@]}" --threads 2 --output_dir "$work/c" >/dev/null
  runs[one_rank_2t]+="$(rate "$work/c") "
done
for k in one_rank_1t two_ranks_1t one_rank_2t; do
  /usr/bin/python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[2:]]; print(f'{sys.argv[1]:14s} samples/s {v}  median {statistics.median(v):.3f}')" "$k" ${runs[$k]}
done
