#!/usr/bin/env bash
# Data parallel is exact across world sizes (issue 16): `mpirun -np 2` at 4 rows per rank trains
# the same trajectory as one process at 8 rows (dropout on: each sample draws its global row's
# masks; 6 steps): the same logged losses, and final weights within 1e-5. Two data sets: `dummy` (a tiny model, fixed-length random rows)
# and `yelp` (the shipped demo model on the shipped reviews, dynamic padding and
# group_by_length: each rank pads its own batch). Prints PASS or FAIL.
# Flags after the data set go to the two-rank run (--ddp_bucket_cap_mb 0.05: the gradients
# summed in several buckets during backward; 0: in one sum after it).
#   tests/mpi_equivalence.sh BERTRAIN MPIEXEC WORK_DIR [dummy|yelp [train flags...]]
set -euo pipefail
bertrain="$1" mpiexec="$2" work="$3" data="${4:-dummy}"
shift $(($# < 4 ? $# : 4))
root="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$work" && mkdir -p "$work"
if [ "$data" = yelp ]; then
  "$bertrain" init --config "$root/models/bert-tiny-yelp/config.json" \
    --vocab "$root/models/bert-tiny-yelp/vocab.txt" --out "$work/model" >/dev/null
  source_flags=(--train_file "$root/data/yelp/train.csv" --max_seq_length 128 --padding longest
    --group_by_length --cache_dir none)
else
  "$bertrain" init --preset tiny --out "$work/model" >/dev/null
  source_flags=(--dummy --dummy_size 64 --dummy_seq_len 32)
fi
flags=(train --model "$work/model" "${source_flags[@]}" --max_steps 6 --logging_steps 1
  --save_strategy no --overwrite_output_dir --disable_tqdm --threads 1)
"$bertrain" "${flags[@]}" --per_device_train_batch_size 8 --output_dir "$work/one" >"$work/one.log"
"$mpiexec" -np 2 --oversubscribe "$bertrain" "${flags[@]}" --per_device_train_batch_size 4 \
  --output_dir "$work/two" "$@" >"$work/two.log"
worst=$(/usr/bin/python3 "$root/tests/tools/weight_diff.py" "$work/one/model.safetensors" \
  "$work/two/model.safetensors")
losses() { grep "^{'loss'" "$1" | cut -d, -f1; }  # each step's loss (4 decimals, as HF logs it)
same_losses=False
[ "$(losses "$work/one.log")" = "$(losses "$work/two.log")" ] && same_losses=True
steps=$(losses "$work/one.log" | wc -l)
world=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['world_size'])" \
  "$work/two/all_results.json")
echo "largest weight difference $worst; logged losses equal: $same_losses; world $world"
/usr/bin/python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 1e-5 else 1)" "$worst" &&
  [ "$same_losses" = True ] && [ "$steps" = 6 ] && [ "$world" = 2 ] && echo PASS || echo FAIL
