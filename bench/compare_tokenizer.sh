#!/usr/bin/env bash
# bertrain's tokenizer vs Hugging Face tokenizers (Rust, npm Node binding) on the same texts
# and vocabulary, 1 and 2 threads; checks that the ids agree on every text.
#   bench/compare_tokenizer.sh [build-dir] [data.csv] [reps]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
data="${2:-$here/../../shared/data/yelp/train.csv}"
reps="${3:-5}"
shared="$here/../../shared/data/tokenizer"
dump="$(mktemp)"
trap 'rm -f "$dump"' EXIT
"$build/bench/bench_tokenizer" --data "$data" --vocab "$shared/bert-base-uncased-vocab.txt" --reps "$reps" --dump "$dump"
(cd "$here/hf_tokenizers" && [ -d node_modules/tokenizers ] || npm install --silent)
for t in 1 2; do
  RAYON_NUM_THREADS=$t node "$here/hf_tokenizers/bench.js" "$shared/bert-base-uncased-tokenizer.json" "$dump" "$reps"
done
