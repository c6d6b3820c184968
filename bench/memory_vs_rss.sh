#!/usr/bin/env bash
# The memory prediction next to what the process really takes: for each configuration,
# `bertrain memory` with the train flags, then `bertrain train` with the same flags on dummy
# data (2 steps), its counted peak (all_results.json) and the process's max RSS (getrusage of
# the child, read by python3). bert-base shapes, random weights (bertrain init).
#   bench/memory_vs_rss.sh [build-dir] [config ...]   config: "BATCHxSEQ[:extra flags]"
set -euo pipefail
build="${1:-build}"
shift || true
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=("8x128" "8x256" "8x512" "8x256:--bf16" "8x256:--gradient_checkpointing")
model="$build/models/bert-base-uncased-random"
[ -f "$model/model.safetensors" ] || "$build/bertrain" init --preset bert-base-uncased --out "$model" >/dev/null
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "| configuration | predicted (bertrain memory) | counted peak | max RSS | RSS / predicted |"
echo "|---|---|---|---|---|"
for c in "${configs[@]}"; do
  shape="${c%%:*}"; extra=""; [ "$shape" != "$c" ] && extra="${c#*:}"
  b="${shape%x*}"; s="${shape#*x}"
  # shellcheck disable=SC2206
  flags=(--model "$model" --dummy --dummy_size $((2 * b)) --dummy_seq_len "$s" --output_dir "$out/run"
         --overwrite_output_dir --per_device_train_batch_size "$b" --max_steps 2 --save_strategy no
         --save_final_model=false --disable_tqdm $extra)
  predicted=$("$build/bertrain" memory --json "${flags[@]}" | python3 -c "import json,sys; print(json.load(sys.stdin)['peak_bytes'])")
  rss=$(python3 - "$build/bertrain" train "${flags[@]}" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
PY
)
  counted=$(python3 -c "import json; print(json.load(open('$out/run/all_results.json'))['peak_memory_bytes'])")
  python3 -c "
p, c, r = $predicted, $counted, $rss
print(f'| {\"$c\"} | {p/1e9:.3f} GB | {c/1e9:.3f} GB | {r/1e9:.3f} GB | {r/p:.3f} |')"
done
