#include "kernels/cpu/gemm_bf16.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
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

// batch, trans_a, trans_b, M, N, K, lda, ldb, ldc, accumulate, user scratchpad
using Key = std::tuple<int, bool, bool, int, int, int, int, int, int, bool, bool>;

struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
};

Matmul make(const Key& k) {
  const auto [batch, ta, tb, M, N, K, lda, ldb, ldc, accumulate, user_scratch] = k;
  dnnl::primitive_attr attr;
  if (user_scratch) attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::desc d(matrix(batch, M, K, lda, ta, dt::bf16),
                       matrix(batch, K, N, ldb, tb, dt::bf16),
                       matrix(batch, M, N, ldc, false, dt::f32));
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
Key plain_key(bool ta, bool tb, int M, int N, int K, int lda, int ldb, bool accumulate, int ldc) {
  return {1, ta, tb, M, N, K, lda, ldb, ldc, accumulate, true};
}

Key batched_key(int batch, bool ta, bool tb, int M, int N, int K) {
  return {batch, ta, tb, M, N, K, ta ? M : K, tb ? K : N, N, false, true};
}

size_t scratch_bytes(const Key& key) {
  return cached(key).pd.scratchpad_desc().get_size();
}

void run(Key key, const uint16_t* A, const uint16_t* B, float* C, GemmScratch scratch) {
  const Matmul* mm = &cached(key);
  const size_t need = mm->pd.scratchpad_desc().get_size();
  if (need > scratch.bytes) {  // not planned for: the same GEMM on oneDNN's own scratchpad
    std::get<10>(key) = false;
    mm = &cached(key);
    ++unplanned_runs;
  }
  Engine& e = engine();
  dnnl::memory a(mm->pd.src_desc(), e.engine, const_cast<uint16_t*>(A));
  dnnl::memory b(mm->pd.weights_desc(), e.engine, const_cast<uint16_t*>(B));
  dnnl::memory c(mm->pd.dst_desc(), e.engine, C);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
  if (std::get<10>(key) && need > 0)  // on the caller's scratch
    args.emplace(DNNL_ARG_SCRATCHPAD,
                 dnnl::memory(mm->pd.scratchpad_desc(), e.engine, scratch.data));
  mm->primitive.execute(e.stream, args);
  e.stream.wait();
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, bool accumulate, float* C, int ldc,
               GemmScratch scratch) {
  if (M <= 0 || N <= 0) return;
  run(plain_key(trans_a, trans_b, M, N, K, lda, ldb, accumulate, ldc), A, B, C, scratch);
}

void gemm_bf16_batched(int batch, bool trans_a, bool trans_b, int M, int N, int K,
                       const uint16_t* A, const uint16_t* B, float* C, GemmScratch scratch) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  run(batched_key(batch, trans_a, trans_b, M, N, K), A, B, C, scratch);
}

size_t gemm_bf16_scratch_bytes(bool trans_a, bool trans_b, int M, int N, int K, int lda, int ldb,
                               bool accumulate, int ldc) {
  if (M <= 0 || N <= 0) return 0;
  return scratch_bytes(plain_key(trans_a, trans_b, M, N, K, lda, ldb, accumulate, ldc));
}

size_t gemm_bf16_batched_scratch_bytes(int batch, bool trans_a, bool trans_b, int M, int N, int K) {
  if (batch <= 0 || M <= 0 || N <= 0) return 0;
  return scratch_bytes(batched_key(batch, trans_a, trans_b, M, N, K));
}

int64_t gemm_bf16_unplanned_runs() {
  return unplanned_runs;
}

const char* bf16_gemm_isa() {
  static const std::string isa = [] {
    const Key probe{1, false, true, 64, 64, 64, 64, 64, 64, false, false};
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
               int, GemmScratch) {
  fail("bf16 GEMMs need oneDNN (bertrain was built without it)");
}

void gemm_bf16_batched(int, bool, bool, int, int, int, const uint16_t*, const uint16_t*, float*,
                       GemmScratch) {
  fail("bf16 GEMMs need oneDNN (bertrain was built without it)");
}

size_t gemm_bf16_scratch_bytes(bool, bool, int, int, int, int, int, bool, int) {
  return 0;
}

size_t gemm_bf16_batched_scratch_bytes(int, bool, bool, int, int, int) {
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
