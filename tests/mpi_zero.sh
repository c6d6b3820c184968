#!/usr/bin/env bash
# ZeRO-1 (issue 16): `mpirun -np 2 ... --zero_stage 1` trains as ZeRO-0 at 2 ranks (a tiny
# model with its dropout on, dummy data, 6 steps, clipped at 0.3, below every step's norm, so
# the norm that ZeRO-1 sums piece by piece scales every update): final weights and the
# checkpoint's (gathered) AdamW state within 1e-6, while each rank's counted optimizer state is
# half of ZeRO-0's (at most 51%) and equal to the memory model's prediction, which
# `bertrain memory --world_size 2 --zero_stage 1` prints too. Prints PASS or FAIL.
#   tests/mpi_zero.sh BERTRAIN MPIEXEC WORK_DIR
set -euo pipefail
bertrain="$1" mpiexec="$2" work="$3"
tools="$(cd "$(dirname "$0")" && pwd)/tools"
rm -rf "$work" && mkdir -p "$work"
"$bertrain" init --preset tiny --out "$work/model" >/dev/null
flags=(--model "$work/model" --dummy --dummy_size 64 --dummy_seq_len 32
  --per_device_train_batch_size 4 --max_steps 6 --max_grad_norm 0.3 --logging_steps 1
  --save_strategy steps --save_steps 6 --overwrite_output_dir --disable_tqdm --threads 1)
for stage in 0 1; do
  "$mpiexec" -np 2 --oversubscribe "$bertrain" train "${flags[@]}" --zero_stage "$stage" \
    --output_dir "$work/zero$stage" >"$work/zero$stage.log"
done
weights=$(/usr/bin/python3 "$tools/weight_diff.py" "$work/zero0/model.safetensors" \
  "$work/zero1/model.safetensors")
state=$(/usr/bin/python3 "$tools/weight_diff.py" "$work/zero0/checkpoint-6/optimizer.safetensors" \
  "$work/zero1/checkpoint-6/optimizer.safetensors")
predicted=$("$bertrain" memory "${flags[@]}" --output_dir "$work/m" --world_size 2 --zero_stage 1 \
  --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['categories']['optimizer_state'])")
/usr/bin/python3 - "$work" "$weights" "$state" "$predicted" <<'PY'
import json, sys
work, weights, state, predicted = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
r = [json.load(open(f"{work}/zero{s}/all_results.json")) for s in (0, 1)]
opt = [x["peak_memory_by_category"]["optimizer_state"] for x in r]
pred = r[1]["predicted_peak_memory_by_category"]["optimizer_state"]
print(f"weights differ by {weights:.3g}, AdamW state by {state:.3g}; optimizer state per rank "
      f"{opt[0]} -> {opt[1]} bytes (predicted {pred}, `bertrain memory` {predicted}); "
      f"zero_stage {r[1].get('zero_stage')}")
ok = (weights <= 1e-6 and state <= 1e-6 and opt[1] <= 0.51 * opt[0] and opt[1] == pred == predicted
      and r[1].get("zero_stage") == 1)
print("PASS" if ok else "FAIL")
PY
