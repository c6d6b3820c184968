// Forward and backward of BERT's pointwise and row-wise ops, over raw pointers and explicit
// shapes (llm.c style). Conventions: activation gradients are written (=), parameter
// gradients are accumulated (+=) so micro-batches add up. Rows are [N, C] row-major.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/gemm_bf16.h"

namespace bertrain::cpu {

// out[r] = word[ids[r]] + pos[r % S] + type[types[r]], r over B*S rows of width H.
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const int32_t* types, const T* word,
                       const T* pos, const T* type, int B, int S, int H);
// Rows whose id equals padding_idx get no word-embedding gradient (nn.Embedding padding_idx).
template <typename T>
void embedding_backward(T* dword, T* dpos, T* dtype, const T* dout, const int32_t* ids,
                        const int32_t* types, int B, int S, int H, int padding_idx);

// out = LN(x) * gamma + beta; saves mean and rstd per row for backward.
template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* gamma, const T* beta, int N,
                       int C, double eps);
// sum = a + b, then out = LN(sum): the residual add fused with the norm.
template <typename T>
void add_layernorm_forward(T* out, T* sum, T* mean, T* rstd, const T* a, const T* b, const T* gamma,
                           const T* beta, int N, int C, double eps);
// The residual block's LayerNorm under bf16 GEMMs, fused with what precedes it: the dense
// output rounded to bf16, inverted dropout, the residual sum (kept only as its bf16 copy,
// sum16; the statistics come from the unrounded sum, as add_layernorm_forward's), and the
// output rounded to bf16 in place and copied to out16.
void add_layernorm_forward_bf16(float* out, uint16_t* out16, uint16_t* sum16, float* mean,
                                float* rstd, const float* dense, double dropout_p, uint64_t seed,
                                const float* residual, const float* gamma, const float* beta, int N,
                                int C, double eps);
template <typename T>
void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dout, const T* x, const T* mean,
                        const T* rstd, const T* gamma, int N, int C);
// The same reading x from its bf16 copy (raw uint16_t).
void layernorm_backward_bf16(float* dx, float* dgamma, float* dbeta, const float* dout,
                             const uint16_t* x16, const float* mean, const float* rstd,
                             const float* gamma, int N, int C);

// out = in * W^T + b with W [out_f, in_f].
template <typename T>
void linear_forward(T* out, const T* in, const T* W, const T* b, int N, int in_f, int out_f);
// din = dout * W (or din += dout * W with accumulate_din, which folds in a residual gradient;
// skipped when din is null), dW += dout^T * in, db += column sums of dout.
template <typename T>
void linear_backward(T* din, T* dW, T* db, const T* dout, const T* in, const T* W, int N, int in_f,
                     int out_f, bool accumulate_din = false);

// The same on bf16 inputs (raw uint16_t) with fp32 accumulation and outputs, on the CPU's
// matrix units (gemm_bf16.h): out = in16 * W16^T + b. Float models only.
void linear_forward_bf16(float* out, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch = {});
// din (=, or += with accumulate_din; skipped when null) = dout16 * W16, dW += dout16^T * in16,
// db += column sums of dout (fp32, unrounded; skipped when db is null).
void linear_backward_bf16(float* din, float* dW, float* db, const float* dout,
                          const uint16_t* dout16, const uint16_t* in16, const uint16_t* W16, int N,
                          int in_f, int out_f, bool accumulate_din = false,
                          GemmScratch scratch = {});
// x16 = x rounded to bf16 and sums += x's column sums, in one pass over x [N, C]: a bf16
// linear layer's output gradient for its GEMMs and its bias gradient (linear_backward_bf16
// then takes db = null).
void pack_bf16_column_sums(uint16_t* x16, float* sums, const float* x, int N, int C);
// The scratch bytes those two take at most for a shape (gemm_bf16.h).
size_t linear_bf16_scratch_bytes(int N, int in_f, int out_f);

// Exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
template <typename T>
void gelu_forward(T* out, const T* x, int64_t n);
// Under bf16 GEMMs: x rounded to bf16 (its copy x16, what backward reads), the GELU of that,
// rounded to bf16 (out16, what the next GEMM reads), in one pass.
void gelu_forward_bf16(uint16_t* x16, uint16_t* out16, const float* x, int64_t n);
template <typename T>
void gelu_backward(T* dx, const T* x, const T* dout, int64_t n);
// The same reading x from its bf16 copy and writing dx both in fp32 (for the bias gradient)
// and rounded to bf16 (for the bf16 GEMMs), in one pass. dx may be dout.
void gelu_backward_bf16(float* dx, uint16_t* dx16, const uint16_t* x16, const float* dout,
                        int64_t n);

template <typename T>
void tanh_forward(T* out, const T* x, int64_t n);
// Uses the saved output: d tanh = 1 - y^2.
template <typename T>
void tanh_backward(T* dx, const T* y, const T* dout, int64_t n);

// Cross-entropy over N rows of L logits. Labels equal to -100 are ignored (as torch does);
// null labels compute only the probabilities.
// Writes softmax probabilities; returns the mean loss over counted rows (0 when none).
template <typename T>
double cross_entropy_forward(T* probs, const T* logits, const int32_t* labels, int N, int L);
// dlogits = (probs - onehot(label)) * scale / count.
template <typename T>
void cross_entropy_backward(T* dlogits, const T* probs, const int32_t* labels, int N, int L,
                            double scale);

// dst = src over the pool (a serial memcpy of a large tensor leaves the other cores idle).
template <typename T>
void copy(T* dst, const T* src, int64_t n);

// Inverted dropout: out[i] = keep(i) ? x[i] / (1 - p) : 0, with DropoutMask(seed, p)
// (dropout.h): backward regenerates the mask instead of storing it. out may be x.
template <typename T>
void dropout_apply(T* out, const T* x, int64_t n, double p, uint64_t seed);
template <typename T>
void dropout_apply(T* x, int64_t n, double p, uint64_t seed) {
  dropout_apply(x, x, n, p, seed);
}

// Sum of squares (accumulated in double) of n values.
template <typename T>
double sum_squares(const T* x, int64_t n);

}  // namespace bertrain::cpu
