// Makes sure OpenBLAS runs its best kernels for this CPU.
#pragma once

namespace bertrain::cpu {

// OpenBLAS 0.3.21 (Debian 12) does not recognise AMD Zen 4 and falls back to its AVX2
// "Haswell" kernels, although the CPU runs OpenBLAS's AVX-512 kernels 1.65x faster
// (measured: 200 vs 330 GFLOP/s sgemm on 2 cores, docs/PERF.md). OpenBLAS reads its core
// type once, when the library loads, before main(); so when it picked an AVX2 core on an
// AVX-512 CPU and the user has not set OPENBLAS_CORETYPE, this sets it and re-executes the
// program once. Returns normally in every other case.
void ensure_best_blas_kernels(char** argv);

// OpenBLAS's name for the kernels in use ("SkylakeX", "Haswell", ...).
const char* blas_core_name();

}  // namespace bertrain::cpu
