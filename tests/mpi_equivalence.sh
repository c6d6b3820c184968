#!/usr/bin/env bash
# Data parallel is exact across world sizes (issue 16): `mpirun -np 2` at 4 rows per rank trains
# the same trajectory as one process at 8 rows (dropout off, 6 steps): the same logged losses,
# and final weights within 1e-5. Two data sets: `dummy` (a tiny model, fixed-length random rows)
# and `yelp` (the shipped demo model on the shipped reviews, dynamic padding and
# group_by_length: each rank pads its own batch). Prints PASS or FAIL.
#   tests/mpi_equivalence.sh BERTRAIN MPIEXEC WORK_DIR [dummy|yelp]
set -euo pipefail
bertrain="$1" mpiexec="$2" work="$3" data="${4:-dummy}"
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
/usr/bin/python3 - "$work/model/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["hidden_dropout_prob"] = c["attention_probs_dropout_prob"] = 0.0
json.dump(c, open(sys.argv[1], "w"))
PY
flags=(train --model "$work/model" "${source_flags[@]}" --max_steps 6 --logging_steps 1
  --save_strategy no --overwrite_output_dir --disable_tqdm --threads 1)
"$bertrain" "${flags[@]}" --per_device_train_batch_size 8 --output_dir "$work/one" >"$work/one.log"
"$mpiexec" -np 2 --oversubscribe "$bertrain" "${flags[@]}" --per_device_train_batch_size 4 \
  --output_dir "$work/two" >"$work/two.log"
/usr/bin/python3 - "$work" <<'PY'
import json, struct, sys
from array import array
work = sys.argv[1]

def weights(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = array("f", raw[8 + n + a:8 + n + b])
    return out

def losses(path):  # the logged loss of each step (4 decimals, as HF logs it)
    return [line.split(",")[0] for line in open(path) if line.startswith("{'loss'")]

one, two = weights(f"{work}/one/model.safetensors"), weights(f"{work}/two/model.safetensors")
worst = max(abs(x - y) for k in one for x, y in zip(one[k], two[k]))
same_losses = losses(f"{work}/one.log") == losses(f"{work}/two.log")
world = json.load(open(f"{work}/two/all_results.json"))["world_size"]
print(f"largest weight difference {worst:.3g}; logged losses equal: {same_losses}; world {world}")
print("PASS" if worst <= 1e-5 and same_losses and len(losses(f"{work}/one.log")) == 6
      and world == 2 else "FAIL")
PY
