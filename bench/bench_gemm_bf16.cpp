// The headroom for true bf16 GEMMs: oneDNN's matmul primitive with bf16 inputs and fp32
// output (what --bf16 would run) against the fp32 GEMM bertrain uses now, at the shapes of a
// BERT training step (rows = batch x sequence = 1024) and a large square one. Prints JSON.
// Built only with oneDNN (BERTRAIN_WITH_DNNL).
#include <cstdint>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "bench_common.h"
#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/gemm.h"

using namespace bertrain;

int main(int argc, char** argv) {
  set_num_threads(static_cast<int>(bench::arg(argc, argv, "--threads", 2)));
  const int reps = static_cast<int>(bench::arg(argc, argv, "--reps", 10));
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  struct Shape {
    int M, N, K;
  };
  const Shape shapes[] = {
      {1024, 768, 768}, {1024, 3072, 768}, {1024, 768, 3072}, {2048, 2048, 2048}};
  std::printf("{\"threads\": %d, \"shapes\": [", num_threads());
  bool first = true;
  for (const Shape& s : shapes) {
    std::vector<float> A(size_t(s.M) * s.K, 0.5f), B(size_t(s.K) * s.N, 0.25f),
        C(size_t(s.M) * s.N);
    std::vector<uint16_t> A16(A.size(), float_to_bf16(0.5f)), B16(B.size(), float_to_bf16(0.25f));
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl::memory::desc a({s.M, s.K}, dt::bf16, tag::ab), b({s.K, s.N}, dt::bf16, tag::ba),
        c({s.M, s.N}, dt::f32, tag::ab);  // B stored N x K, as the model's weights are
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine);
    dnnl::matmul matmul(pd);
    dnnl::memory am(a, engine, A16.data()), bm(b, engine, B16.data()), cm(c, engine, C.data());
    auto time = [&](auto&& run) {
      std::vector<double> times;
      for (int r = 0; r < reps + 1; ++r) {
        double t0 = bench::now_seconds();
        run();
        if (r > 0) times.push_back(bench::now_seconds() - t0);  // first run warms up
      }
      return 2.0 * s.M * s.N * s.K / bench::median(times) / 1e9;
    };
    const double bf16 = time([&] {
      matmul.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
      stream.wait();
    });
    const double fp32 = time([&] {
      cpu::gemm<float>(false, true, s.M, s.N, s.K, 1.0f, A.data(), s.K, B.data(), s.K, 0.0f,
                       C.data(), s.N);
    });
    std::printf(
        "%s{\"M\": %d, \"N\": %d, \"K\": %d, \"fp32_gflops\": %.1f, \"bf16_gflops\": %.1f, "
        "\"bf16_impl\": \"%s\"}",
        first ? "" : ", ", s.M, s.N, s.K, fp32, bf16, pd.impl_info_str());
    first = false;
  }
  std::printf("]}\n");
}
