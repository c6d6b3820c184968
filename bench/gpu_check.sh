#!/usr/bin/env bash
# Everything bertrain does that needs a GPU, in one run on a lent GPU machine (docs/GPU.md):
#   1. build with all cores: from source where the machine has the build dependencies, else
#      the binaries bench/gpu_bundle.sh packed here (gpu_bundle.tar.xz, carried with the tree)
#   2. the GPU tests (ctest label gpu): every CUDA kernel against its CPU twin, the bert_tiny
#      golden fixture in fp32, bf16 against fp32, a resumed run bit-identical
#   3. the shipped Yelp demo on the GPU, 300 steps
#   4. bertrain against Hugging Face Trainer (the machine's torch and transformers): bert-base
#      shapes, random init, bf16; seq 128 x batch 32, and seq 512 x batch 8 plain, with gradient
#      checkpointing and with memory-efficient attention: samples/s, MFU against the measured
#      bf16 GEMM peak, memory (counted, the driver's view, torch's max_memory_allocated)
#   5. compute-sanitizer memcheck on a short run
#   6. a profile of one bf16 training step (ncu kernel times, bench/ncu_summary.py)
# Logs and tables go to OUT (default: $OUT, else gpu_check_out); the summary prints last.
#   bench/gpu_check.sh [OUT]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
failed=()
t_start=$(date +%s)
note() { echo "== $(($(date +%s) - t_start)) s: $*"; }
# Each step has a time limit, so that one hang cannot spend the whole lease.
limit() { timeout --kill-after=5 "$@"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv >"$out/gpu.txt" 2>&1
(nvcc --version | tail -2; ls /usr/local/cuda/lib64 2>/dev/null | grep -E 'cublas|cudart' | head) \
  >>"$out/gpu.txt" 2>&1
cat "$out/gpu.txt"

note "1. build"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
# The fixtures: ../shared beside the tree, else the copy in gpu_bundle.tar.xz (the device
# machine gets this tree, not its neighbours).
if [ -d ../shared/fixtures/bert_tiny ]; then
  export BERTRAIN_SHARED_DIR="$(cd ../shared && pwd)"
elif [ -f gpu_bundle.tar.xz ]; then
  rm -rf build-bundle-run && mkdir -p build-bundle-run && tar -xJf gpu_bundle.tar.xz -C build-bundle-run
  export BERTRAIN_SHARED_DIR="$PWD/build-bundle-run/gpu_bundle/shared"
else
  echo "no fixtures: neither ../shared nor gpu_bundle.tar.xz (make it with bench/gpu_bundle.sh)"
fi
export BERTRAIN_TEST_TMP="$out/test_tmp"
# BERTRAIN_GPU_BUNDLE=1 skips the build from source (the image lacks Debian's -dev packages).
if [ "${BERTRAIN_GPU_BUNDLE:-0}" != 1 ] &&
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DBERTRAIN_CUDA=ON >"$out/configure.log" 2>&1 &&
  cmake --build build-gpu -j"$(nproc)" >"$out/build.log" 2>&1; then
  bertrain=build-gpu/bertrain bench=build-gpu/bench/bench_train_step
  run_gpu_tests() { (cd build-gpu && ctest -L gpu --output-on-failure -j4); }
  note "built from source"
elif [ -f gpu_bundle.tar.xz ]; then
  note "no build here (tail of the logs below); using gpu_bundle.tar.xz"
  tail -5 "$out/configure.log" "$out/build.log" 2>/dev/null
  b=build-bundle-run/gpu_bundle
  [ -d "$b" ] || { mkdir -p build-bundle-run && tar -xJf gpu_bundle.tar.xz -C build-bundle-run; }
  export LD_LIBRARY_PATH="$PWD/$b/lib:$LD_LIBRARY_PATH"
  bertrain=$b/bertrain bench=$b/bench_train_step
  # CUDA's libraries: the toolkit's, else those of the machine's Python packages.
  for lib in libcudart.so.13 libcublasLt.so.13; do
    ldd "$bertrain" | grep -q "$lib => not found" || continue
    dir=$(dirname "$(find /usr/local /opt /usr/lib -name "$lib*" 2>/dev/null | head -1)")
    echo "$lib from $dir" && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$dir"
  done
  ldd "$bertrain" | grep "not found" || true
  # One process per test, as ctest runs them: a kernel fault that kills the CUDA context then
  # fails its own test only. Launches block, so a fault names the launch that made it.
  run_gpu_tests() {
    local bad=0
    for t in $("$b/bertrain_gpu_tests" --gtest_list_tests | awk '/^[^ ]/ {s=$1} /^  / {print s $1}'); do
      CUDA_LAUNCH_BLOCKING=1 limit 120 "$b/bertrain_gpu_tests" --gtest_filter="$t" >"$out/test_$t.log" 2>&1 &&
        echo "PASS $t" || { echo "FAIL $t"; tail -40 "$out/test_$t.log"; bad=1; }
    done
    return $bad
  }
else
  echo "the build failed and there is no gpu_bundle.tar.xz; see $out/build.log"
  tail -30 "$out/configure.log" "$out/build.log" 2>/dev/null
  exit 1
fi

note "2. GPU tests"
run_gpu_tests >"$out/gpu_tests.log" 2>&1 || failed+=("gpu tests")
grep -E "^(PASS|FAIL)" "$out/gpu_tests.log" || tail -25 "$out/gpu_tests.log"

note "3. Yelp demo on the GPU, 300 steps"
limit 150 scripts/yelp_demo.sh "$bertrain" "$out/yelp" --device cuda --max_steps 300 \
  >"$out/yelp.log" 2>&1 || failed+=("yelp demo")
tail -4 "$out/yelp.log"

note "4. bertrain against Hugging Face Trainer"
limit 90 python3 bench/torch_gemm_peak_gpu.py >"$out/gemm_peak.json" 2>"$out/gemm_peak.err" ||
  failed+=("gemm peak")
: >"$out/bertrain.jsonl"
: >"$out/hf.jsonl"
# The main case runs ROUNDS times, bertrain and HF alternating (HF's step time has varied
# between runs on this machine, 25 to 50 ms, where bertrain's did not); the summary takes
# medians over the rounds.
rounds=${ROUNDS:-3}
cases=()
for ((r = 0; r < rounds; ++r)); do cases+=("128 32 0 0"); done
cases+=("512 8 0 0" "512 8 1 0" "512 8 0 1")
for c in "${cases[@]}"; do
  read -r seq batch ckpt memeff <<<"$c"
  limit 90 "$bench" --device cuda --precision bf16 --seq "$seq" --batch "$batch" --steps 20 --warmup 3 \
    --checkpointing "$ckpt" --memory_efficient "$memeff" >>"$out/bertrain.jsonl" \
    2>>"$out/bertrain.err" || echo "{\"impl\": \"bertrain\", \"seq\": $seq, \"batch\": $batch, \"checkpointing\": $ckpt, \"memory_efficient\": $memeff, \"error\": true}" >>"$out/bertrain.jsonl"
  # sdpa is PyTorch's memory-efficient attention already: one HF run per plain/checkpointed case
  [ "$memeff" = 1 ] && continue
  limit 150 python3 bench/hf_trainer_gpu.py --seq "$seq" --batch "$batch" --steps 20 --warmup 3 \
    --checkpointing "$ckpt" >>"$out/hf.jsonl" 2>>"$out/hf.err" || failed+=("hf $c")
done

note "5. compute-sanitizer memcheck"
if command -v compute-sanitizer >/dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  limit 150 "$sanitizer" --tool memcheck --error-exitcode 9 "$bench" --device cuda --preset tiny --seq 32 \
    --steps 2 --warmup 1 >"$out/memcheck.log" 2>&1 || failed+=("memcheck")
  tail -3 "$out/memcheck.log"
else
  echo "compute-sanitizer not found" | tee "$out/memcheck.log"
fi

note "6. profile of one bf16 step (ncu; PROFILE=0 skips it)"
ncu_bin=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null || true)
if [ "${PROFILE:-1}" = 1 ] && [ -n "$ncu_bin" ]; then
  # --clock-control none: the card's clocks as they are; kernels run one at a time, so their
  # times add up to about a step. Two steps (a warm-up and one timed) are profiled.
  limit 180 "$ncu_bin" --clock-control none --metrics gpu__time_duration.sum \
    --print-summary per-kernel "$bench" --device cuda --precision bf16 --seq 128 --batch 32 \
    --steps 1 --warmup 1 >"$out/ncu.txt" 2>&1 || failed+=("ncu profile")
  python3 bench/ncu_summary.py "$out/ncu.txt" 2 25 | tee "$out/profile.md"
else
  echo "no profile (PROFILE=${PROFILE:-1}, ncu: ${ncu_bin:-not found})"
fi

note "summary"
python3 bench/gpu_summary.py "$out" | tee "$out/summary.md"
if [ ${#failed[@]} -gt 0 ]; then
  for f in "$out"/*.err; do [ -s "$f" ] && echo "--- $f" && tail -6 "$f"; done
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "gpu_check: all steps passed"
