#include "kernels/cpu/gemm_bf16.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/error.h"

#if BERTRAIN_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace bertrain::cpu {

#if BERTRAIN_WITH_DNNL

namespace {

using dt = dnnl::memory::data_type;
using Dims = dnnl::memory::dims;

struct Engine {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

Engine& engine() {
  static Engine e;
  return e;
}

// `batch` row-major matrices of `rows` x `cols` with row stride ld, one after another, read
// transposed when `trans`. One matrix is a 2-D descriptor, more a 3-D one.
dnnl::memory::desc matrix(int batch, int rows, int cols, int ld, bool trans, dt type) {
  const Dims strides = trans ? Dims{1, ld} : Dims{ld, 1};
  if (batch == 1) return dnnl::memory::desc({rows, cols}, type, strides);
  const int64_t stored_rows = trans ? cols : rows;
  return dnnl::memory::desc({batch, rows, cols}, type,
                            Dims{stored_rows * ld, strides[0], strides[1]});
}

// Everything a primitive depends on.
struct Key {
  int batch;
  bool ta, tb;
  int M, N, K, lda, ldb, ldc;
  bool accumulate;    // C += A B (a sum post-op)
  bool bias;          // C = A B + bias (one fp32 value per column, oneDNN's bias argument)
  bool user_scratch;  // on the caller's scratch, else oneDNN's own scratchpad
  bool out16;         // C in bf16 (rounded to nearest even), else fp32
  auto operator<=>(const Key&) const = default;
};

struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
};

Matmul make(const Key& k) {
  dnnl::primitive_attr attr;
  if (k.user_scratch) attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (k.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  const auto a = matrix(k.batch, k.M, k.K, k.lda, k.ta, dt::bf16);
  const auto b = matrix(k.batch, k.K, k.N, k.ldb, k.tb, dt::bf16);
  const auto c = matrix(k.batch, k.M, k.N, k.ldc, false, k.out16 ? dt::bf16 : dt::f32);
  const auto d = k.bias ? dnnl::matmul::desc(a, b, matrix(k.batch, 1, k.N, k.N, false, dt::f32), c)
                        : dnnl::matmul::desc(a, b, c);
  dnnl::matmul::primitive_desc pd(d, attr, engine().engine);
  return {pd, dnnl::matmul(pd)};
}

std::atomic<int64_t> unplanned_runs{0};

const Matmul& cached(const Key& key) {
  static std::mutex mu;
  static std::map<Key, Matmul> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make(key)).first;
  return it->second;
}

// The keys of the GEMMs callers run: on their scratch (user scratchpad mode).
Key plain_key(bool ta, bool tb, int M, int N, int K, int lda, int ldb, bool accumulate, int ldc,
              bool bias, bool out16) {
  return {1, ta, tb, M, N, K, lda, ldb, ldc, accumulate, bias, true, out16};
}

Key batched_key(int batch, bool ta, bool tb, int M, int N, int K, bool out16) {
  return {batch, ta, tb, M, N, K, ta ? M : K, tb ? K : N, N, false, false, true, out16};
}

size_t scratch_bytes(const Key& key) {
  return cached(key).pd.scratchpad_desc().get_size();
}

void run(Key key, const uint16_t* A, const uint16_t* B, void* C, GemmScratch scratch,
         const float* bias = nullptr) {
  const Matmul* mm = &cached(key);
  const size_t need = mm->pd.scratchpad_desc().get_size();
  if (need > scratch.bytes) {  // not planned for: the same GEMM on oneDNN's own scratchpad
    key.user_scratch = false;
    mm = &cached(key);
    ++unplanned_runs;
  }
  Engine& e = engine();
  dnnl::memory a(mm->pd.src_desc(), e.engine, const_cast<uint16_t*>(A));
  dnnl::memory b(mm->pd.weights_desc(), e.engine, const_cast<uint16_t*>(B));
  dnnl::memory c(mm->pd.dst_desc(), e.engine, C);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
  if (key.bias)
    args.emplace(DNNL_ARG_BIAS,
                 dnnl::memory(mm->pd.bias_desc(), e.engine, const_cast<float*>(bias)));
  if (key.user_scratch && need > 0)  // on the caller's scratch
    args.emplace(DNNL_ARG_SCRATCHPAD,
                 dnnl::memory(mm->pd.scratchpad_desc(), e.engine, scratch.data));
  mm->primitive.execute(e.stream, args);
  e.stream.wait();
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, bool accumulate, float* C, int ldc, GemmScratch scratch,
               const float* bias) {
  if (M <= 0 || N <= 0) return;
  run(plain_key(trans_a, trans_b, M, N, K, lda, ldb, accumulate, ldc, bias != nullptr, false), A, B,
      C, scratch, bias);
}

void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, uint16_t* C, int ldc, GemmScratch scratch,
               const float* bias) {
  if (M <= 0 || N <= 0) return;
  run(plain_key(trans_a, trans_b, M, N, K, lda, ldb, false, ldc, bias != nullptr, true), A, B, C,
      scratch, bias);
}

void gemm_bf16_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K,
                       const uint16_t* A, const uint16_t* B, float* C, GemmScratch scratch) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  run(batched_key(batch, trans_a, trans_b, M, N, K, false), A, B, C, scratch);
}

void gemm_bf16_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K,
                       const uint16_t* A, const uint16_t* B, uint16_t* C, GemmScratch scratch) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  run(batched_key(batch, trans_a, trans_b, M, N, K, true), A, B, C, scratch);
}

size_t gemm_bf16_scratch_bytes(bool trans_a, bool trans_b, int M, int N, int K, int lda, int ldb,
                               bool accumulate, int ldc, bool bias, bool out16) {
  if (M <= 0 || N <= 0) return 0;
  return scratch_bytes(
      plain_key(trans_a, trans_b, M, N, K, lda, ldb, accumulate, ldc, bias, out16));
}

size_t gemm_bf16_batched_scratch_bytes(int batch, bool trans_a, bool trans_b, int M, int N, int K,
                                       bool out16) {
  if (batch <= 0 || M <= 0 || N <= 0) return 0;
  return scratch_bytes(batched_key(batch, trans_a, trans_b, M, N, K, out16));
}

int64_t gemm_bf16_unplanned_runs() {
  return unplanned_runs;
}

const char* bf16_gemm_isa() {
  static const std::string isa = [] {
    const Key probe{1, false, true, 64, 64, 64, 64, 64, 64, false, false, false, false};
    return std::string(make(probe).pd.impl_info_str());
  }();
  return isa.c_str();
}

bool bf16_gemm_is_fast() {
  const std::string isa = bf16_gemm_isa();
  return isa.find("amx_bf16") != std::string::npos ||
         isa.find("avx512_core_bf16") != std::string::npos;
}

#else

void gemm_bf16(bool, bool, int, int, int, const uint16_t*, int, const uint16_t*, int, bool, float*,
               int, GemmScratch, const float*) {
  fail("bf16 GEMMs need oneDNN (bertrain was built without it)");
}

void gemm_bf16(bool, bool, int, int, int, const uint16_t*, int, const uint16_t*, int, uint16_t*,
               int, GemmScratch, const float*) {
  fail("bf16 GEMMs need oneDNN (bertrain was built without it)");
}

void gemm_bf16_batched(int, bool, bool, int, int, int, const uint16_t*, const uint16_t*, float*,
                       GemmScratch) {
  fail("bf16 GEMMs need oneDNN (bertrain was built without it)");
}

void gemm_bf16_batched(int, bool, bool, int, int, int, const uint16_t*, const uint16_t*, uint16_t*,
                       GemmScratch) {
  fail("bf16 GEMMs need oneDNN (bertrain was built without it)");
}

size_t gemm_bf16_scratch_bytes(bool, bool, int, int, int, int, int, bool, int, bool, bool) {
  return 0;
}

size_t gemm_bf16_batched_scratch_bytes(int, bool, bool, int, int, int, bool) {
  return 0;
}

int64_t gemm_bf16_unplanned_runs() {
  return 0;
}

const char* bf16_gemm_isa() {
  return "none";
}

bool bf16_gemm_is_fast() {
  return false;
}

#endif

}  // namespace bertrain::cpu
