#!/usr/bin/env bash
# Packs what bench/gpu_check.sh needs where the GPU machine cannot build bertrain (its image
# has CUDA but not Debian's -dev packages): the CUDA build's binaries, built here for a generic
# x86-64 CPU (no -march=native: the GPU machine's CPU may differ; oneDNN picks its kernels at
# run time, and the CPU bf16 twins need it) and without MPI (one process there), with the shared
# libraries they need that are not the C library, and the bert_tiny fixture, as
# gpu_bundle.tar.xz in the repository root (git ignores it; pass "gpu_bundle.tar.xz" in the
# device tool's carry, and run BERTRAIN_GPU_BUNDLE=1 bench/gpu_check.sh there).
#   bench/gpu_bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bundle -DCMAKE_BUILD_TYPE=Release -DBERTRAIN_CUDA=ON -DBERTRAIN_NATIVE=OFF \
  -DBERTRAIN_DNNL=ON -DBERTRAIN_MPI=OFF >/dev/null
cmake --build build-bundle -j"$(nproc)" --target bertrain bertrain_gpu_tests bench_train_step
stage=build-bundle/stage/gpu_bundle
rm -rf "$stage" && mkdir -p "$stage/lib" "$stage/shared/fixtures"
cp build-bundle/bertrain build-bundle/tests/bertrain_gpu_tests build-bundle/bench/bench_train_step \
  "$stage/"
strip "$stage/bertrain" "$stage/bertrain_gpu_tests" "$stage/bench_train_step"
# Every library the binaries load but the C library's own, the C++ runtime and CUDA's (the
# machine has those, CUDA's in its toolkit).
for bin in "$stage"/bertrain "$stage"/bertrain_gpu_tests "$stage"/bench_train_step; do
  ldd "$bin" | awk '/=> \// {print $3}'
done | sort -u | grep -Ev '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libcudart|libcublas|libcublasLt)\.so' |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done
cp -r ../shared/fixtures/bert_tiny "$stage/shared/fixtures/"
tar -cJf gpu_bundle.tar.xz -C build-bundle/stage gpu_bundle
ls -la gpu_bundle.tar.xz
