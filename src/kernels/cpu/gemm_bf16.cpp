#include "kernels/cpu/gemm_bf16.h"

#include <map>
#include <mutex>
#include <string>
#include <tuple>

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

// A row-major matrix of `rows` x `cols` with row stride ld, read transposed when `trans`.
dnnl::memory::desc matrix(int rows, int cols, int ld, bool trans, dt type) {
  return trans ? dnnl::memory::desc({rows, cols}, type, Dims{1, ld})
               : dnnl::memory::desc({rows, cols}, type, Dims{ld, 1});
}

using Key = std::tuple<bool, bool, int, int, int, int, int, int, bool>;

struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
};

Matmul make(const Key& k) {
  const auto [ta, tb, M, N, K, lda, ldb, ldc, accumulate] = k;
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::desc d(matrix(M, K, lda, ta, dt::bf16), matrix(K, N, ldb, tb, dt::bf16),
                       matrix(M, N, ldc, false, dt::f32));
  dnnl::matmul::primitive_desc pd(d, attr, engine().engine);
  return {pd, dnnl::matmul(pd)};
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, bool accumulate, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  static std::mutex mu;
  static std::map<Key, Matmul> cache;
  const Key key{trans_a, trans_b, M, N, K, lda, ldb, ldc, accumulate};
  const Matmul* mm;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, make(key)).first;
    mm = &it->second;
  }
  Engine& e = engine();
  dnnl::memory a(mm->pd.src_desc(), e.engine, const_cast<uint16_t*>(A));
  dnnl::memory b(mm->pd.weights_desc(), e.engine, const_cast<uint16_t*>(B));
  dnnl::memory c(mm->pd.dst_desc(), e.engine, C);
  mm->primitive.execute(e.stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  e.stream.wait();
}

const char* bf16_gemm_isa() {
  static const std::string isa = [] {
    const Key probe{false, true, 64, 64, 64, 64, 64, 64, false};
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
               int) {
  fail("bf16 GEMMs need oneDNN (bertrain was built without it)");
}

const char* bf16_gemm_isa() {
  return "none";
}

bool bf16_gemm_is_fast() {
  return false;
}

#endif

}  // namespace bertrain::cpu
