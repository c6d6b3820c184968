// bf16 GEMMs on the CPU's matrix units: oneDNN's matmul primitive with bf16 inputs and fp32
// accumulation and output. oneDNN picks the kernel for the CPU it finds (AMX-BF16, else
// AVX512-BF16, else an emulation that is slower than our fp32 GEMM: bf16_gemm_is_fast() says
// which, and the model keeps fp32 GEMMs then).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/types.h"

namespace bertrain::cpu {

// The GEMMs take oneDNN's scratch memory from the caller (GemmScratch, kernels/types.h); one
// given too little (a shape its caller did not plan for) runs on a primitive that takes
// oneDNN's own scratchpad instead, and is counted.

// C = op(A) * op(B) (+ C when accumulate) (+ bias[j] in column j when bias is given), A and
// B bf16 (raw uint16_t), C and the bias fp32. op(A) is M x K, op(B) is K x N; lda/ldb/ldc are
// row strides of the stored matrices. Primitives are cached by shape, strides, transposes,
// accumulate and bias.
void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, bool accumulate, float* C, int ldc,
               GemmScratch scratch = {}, const float* bias = nullptr);
// The same with C in bf16: the fp32 result (bias included) rounded to nearest even, as
// float_to_bf16 rounds it.
void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, uint16_t* C, int ldc, GemmScratch scratch = {},
               const float* bias = nullptr);

// C_i = op(A_i) * op(B_i) for i < batch, every matrix dense and the batch back to back: A_i
// at A + i*M*K, B_i at B + i*K*N, C_i at C + i*M*N. oneDNN's AMX kernels take only dense
// matrices (with row strides they fall back to a slower path), hence this layout.
void gemm_bf16_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K,
                       const uint16_t* A, const uint16_t* B, float* C, GemmScratch scratch = {});
// The same with C in bf16 (each fp32 sum rounded to nearest even): half the bytes written,
// which is what limits products with a short K (Q K^T at S = 512, D = 64: 1.7x faster).
void gemm_bf16_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K,
                       const uint16_t* A, const uint16_t* B, uint16_t* C, GemmScratch scratch = {});

// Scratch bytes those GEMMs need at a shape (lda/ldb/ldc as gemm_bf16 takes them; the batched
// form's are dense); 0 without oneDNN.
size_t gemm_bf16_scratch_bytes(bool trans_a, bool trans_b, int M, int N, int K, int lda, int ldb,
                               bool accumulate, int ldc, bool bias = false, bool out16 = false);
size_t gemm_bf16_batched_scratch_bytes(int batch, bool trans_a, bool trans_b, int M, int N, int K,
                                       bool out16 = false);

// How many bf16 GEMMs so far ran on oneDNN's own scratchpad because their caller's was too
// small (or absent): memory the allocator did not count. A model's step makes none.
int64_t gemm_bf16_unplanned_runs();

// oneDNN's name for the bf16 kernel it picks here, e.g. "brg:avx512_core_amx_bf16", or "none"
// when oneDNN is not built in.
const char* bf16_gemm_isa();
// Whether that kernel uses bf16 hardware (AMX-BF16 or AVX512-BF16).
bool bf16_gemm_is_fast();

}  // namespace bertrain::cpu
