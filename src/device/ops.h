// The op table: every kernel the model and the trainer run, as function pointers that one
// backend fills (device/cpu_ops.cpp from kernels/cpu; a CUDA backend from kernels/cuda).
// model/ and train/ reach kernels only through it. Shapes and conventions are those of the
// CPU kernels' headers, each named below; pointers are device memory of the backend.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/dropout_mask.h"
#include "kernels/types.h"

namespace bertrain {

// The ops in the model's element type T (float for training, double for the gradient checks).
template <typename T>
struct Ops {
  // embedding.h
  void (*embedding_forward)(T* out, const int32_t* ids, const int32_t* types, const T* word,
                            const T* pos, const T* type, int B, int S, int H);
  void (*embedding_backward)(T* dword, T* dpos, T* dtype, const T* dout, const int32_t* ids,
                             const int32_t* types, int B, int S, int H, int padding_idx);
  // layernorm.h
  void (*layernorm_forward)(T* out, T* mean, T* rstd, const T* x, const T* gamma, const T* beta,
                            int N, int C, double eps);
  void (*add_layernorm_forward)(T* out, T* sum, T* mean, T* rstd, const T* a, const T* b,
                                const T* gamma, const T* beta, int N, int C, double eps);
  void (*layernorm_backward)(T* dx, T* dgamma, T* dbeta, const T* dout, const T* x, const T* mean,
                             const T* rstd, const T* gamma, int N, int C);
  // linear.h
  void (*linear_forward)(T* out, const T* in, const T* W, const T* b, int N, int in_f, int out_f);
  void (*linear_backward)(T* din, T* dW, T* db, const T* dout, const T* in, const T* W, int N,
                          int in_f, int out_f, bool accumulate_din);
  // activations.h
  void (*gelu_forward)(T* out, const T* x, int64_t n);
  void (*gelu_backward)(T* dx, const T* x, const T* dout, int64_t n);
  void (*tanh_forward)(T* out, const T* x, int64_t n);
  void (*tanh_backward)(T* dx, const T* y, const T* dout, int64_t n);
  // cross_entropy.h
  void (*cross_entropy_forward)(T* probs, double* loss, const T* logits, const int32_t* labels,
                                int N, int L, double smoothing);
  void (*cross_entropy_backward)(T* dlogits, const T* probs, const int32_t* labels, int N, int L,
                                 double scale, double smoothing);
  // mse_loss.h, bce_loss.h
  void (*mse_forward)(double* loss, const T* x, const float* targets, int64_t n);
  void (*mse_backward)(T* dx, const T* x, const float* targets, int64_t n, double scale);
  void (*bce_forward)(T* probs, double* loss, const T* x, const float* targets, int64_t n);
  void (*bce_backward)(T* dx, const T* probs, const float* targets, int64_t n, double scale);
  // memory.h
  void (*upload)(void* dst, const void* host_src, size_t bytes);
  void (*download)(void* host_dst, const void* src, size_t bytes);  // waits for queued work
  void (*synchronize)();  // waits for everything queued (a GPU runs ops asynchronously)
  void (*copy)(T* dst, const T* src, int64_t n);
  void (*fill_zero)(T* x, int64_t n);
  void (*copy_rows)(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, int rows, int cols);
  void (*gather_rows)(T* dst, const T* src, const int32_t* index, int n, int cols);
  void (*scatter_rows)(T* dst, const T* src, const int32_t* index, int n, int cols);
  // convert.h
  void (*to_half)(uint16_t* dst, const T* x, int64_t n, HalfFormat f);
  void (*from_half)(T* dst, const uint16_t* x16, int64_t n, HalfFormat f);
  void (*round_half)(T* x, int64_t n, HalfFormat f, uint16_t* store);
  // dropout.h, reductions.h
  void (*dropout_apply)(T* out, const T* x, int B, int64_t per_sample, const Dropout& d);
  void (*sum_squares)(double* out, const T* x, int64_t n);
  void (*mean_of_pair)(double* out, const double* pair);
  // attention.h: standard (probabilities kept) and memory-efficient (blockwise, log-sum-exp
  // kept), with the scratch each needs (in elements of T) for `slots` problems run at once;
  // scratch_slots() is how many the backend runs at once (the CPU: its threads)
  void (*attention_forward)(T* ctx, T* probs, const T* qkv, const int32_t* mask, int B, int S,
                            int nh, int D, const Dropout& drop, T* scratch);
  void (*attention_backward)(T* dqkv, const T* dctx, const T* qkv, const T* probs, int B, int S,
                             int nh, int D, const Dropout& drop, T* scratch);
  void (*attention_forward_blockwise)(T* ctx, T* lse, const T* qkv, const int32_t* mask, int B,
                                      int S, int nh, int D, const Dropout& drop, T* scratch);
  void (*attention_backward_blockwise)(T* dqkv, const T* dctx, const T* qkv, const T* lse,
                                       const int32_t* mask, int B, int S, int nh, int D,
                                       const Dropout& drop, T* scratch);
  int64_t (*attention_scratch_size)(int S, int slots);
  int64_t (*attention_blockwise_scratch_size)(int S, int slots);
  int (*scratch_slots)();
  // adamw.h
  void (*adamw_update)(T* p, T* g, T* m, T* v, int64_t n, const AdamWStep& s, uint16_t* p_bf16);
  // gemm.h: the fp32 GEMM's library, for the log
  const char* (*gemm_backend)();
};

// The ops of the bf16 path (fp32 master values, bf16 copies as raw uint16_t): the GEMMs on
// the CPU's matrix units and the kernels that read and write the bf16 copies.
struct Bf16Ops {
  // gemm_bf16.h: the library, the kernel it picks, and whether it uses bf16 hardware
  const char* gemm_library;
  const char* (*gemm_isa)();
  bool (*gemm_is_fast)();
  // layernorm.h
  void (*add_layernorm_forward)(float* out, uint16_t* out16, uint16_t* sum16, float* mean,
                                float* rstd, const uint16_t* dense16, const Dropout& drop,
                                const float* residual, const float* gamma, const float* beta, int B,
                                int S, int C, double eps);
  void (*layernorm_backward)(float* dx, float* dgamma, float* dbeta, const float* dout,
                             const uint16_t* x16, const float* mean, const float* rstd,
                             const float* gamma, int N, int C);
  // linear.h
  void (*linear_forward)(float* out, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch);
  void (*linear_forward16)(uint16_t* out16, const uint16_t* in16, const uint16_t* W16,
                           const float* b, int N, int in_f, int out_f, GemmScratch scratch);
  void (*linear_backward)(float* din, float* dW, float* db, const float* dout,
                          const uint16_t* dout16, const uint16_t* in16, const uint16_t* W16, int N,
                          int in_f, int out_f, bool accumulate_din, GemmScratch scratch);
  void (*pack_column_sums)(uint16_t* x16, float* sums, const float* x, int N, int C,
                           float* partials);
  size_t (*column_sums_scratch_floats)(int N, int C);
  size_t (*linear_scratch_bytes)(int N, int in_f, int out_f);
  // activations.h
  void (*gelu_forward)(uint16_t* out16, const uint16_t* x16, int64_t n);
  void (*gelu_backward)(uint16_t* dx16, float* dbias, const uint16_t* x16, const float* dout, int N,
                        int C, float* partials);
  // attention_bf16.h
  void (*qkv_to_heads)(uint16_t* qkv16, const uint16_t* rows16, int B, int S, int nh, int D);
  size_t (*attention_scratch_bytes)(int S, int nh, int D);
  void (*attention_forward)(uint16_t* ctx16, uint16_t* probs16, const uint16_t* qkv16,
                            const int32_t* mask, int B, int S, int nh, int D, const Dropout& drop,
                            std::byte* scratch);
  void (*attention_backward)(float* dqkv, const float* dctx, const uint16_t* qkv16,
                             const uint16_t* probs16, int B, int S, int nh, int D,
                             const Dropout& drop, std::byte* scratch);
};

// The CPU backend's tables (kernels/cpu).
template <typename T>
const Ops<T>& cpu_ops();
const Bf16Ops& cpu_bf16_ops();

}  // namespace bertrain
