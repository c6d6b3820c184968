// The bf16 kernels (GEMMs, linear layers, GELU and LayerNorm backward reading bf16 inputs)
// against their fp32 twins on the same bf16 values: with exact products and fp32
// accumulation, they agree to fp32 rounding.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/linear.h"
#include "test_util.h"

using namespace bertrain;

namespace {

// n values of a seeded normal distribution, rounded to bf16: as floats and as raw bf16.
struct Bf16Values {
  std::vector<float> f;
  std::vector<uint16_t> h;
  Bf16Values(size_t n, uint64_t seed) {
    for (double v : test::random_vector(n, seed)) {
      h.push_back(float_to_bf16(static_cast<float>(v)));
      f.push_back(bf16_to_float(h.back()));
    }
  }
};

bool have_bf16_gemm() {
  return std::strcmp(cpu::bf16_gemm_isa(), "none") != 0;
}

void expect_close(const std::vector<float>& want, const std::vector<float>& got, double rel) {
  double scale = 0;
  for (float w : want) scale = std::max(scale, std::abs(double(w)));
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], rel * scale) << i;
}

}  // namespace

TEST(GemmBf16, MatchesTheFp32GemmOnBf16ValuesForEveryTransposeAccumulateAndBias) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  std::printf("bf16 GEMM kernel: %s\n", cpu::bf16_gemm_isa());
  const int M = 37, N = 50, K = 67;
  std::vector<float> bias(N);
  for (int j = 0; j < N; ++j) bias[j] = 0.03f * static_cast<float>(j) - 0.7f;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool acc : {false, true})
        for (bool with_bias : {false, true}) {
          Bf16Values A(size_t(M) * K, 1), B(size_t(K) * N, 2);
          const int lda = ta ? M : K, ldb = tb ? K : N;
          std::vector<float> C0(size_t(M) * N, 0.5f);
          std::vector<float> want = acc ? C0 : std::vector<float>(C0.size(), 0.0f);
          cpu::gemm<float>(ta, tb, M, N, K, 1.0f, A.f.data(), lda, B.f.data(), ldb,
                           acc ? 1.0f : 0.0f, want.data(), N);
          if (with_bias)
            for (size_t i = 0; i < want.size(); ++i) want[i] += bias[i % N];
          std::vector<float> got = C0;
          cpu::gemm_bf16(ta, tb, M, N, K, A.h.data(), lda, B.h.data(), ldb, acc, got.data(), N, {},
                         with_bias ? bias.data() : nullptr);
          expect_close(want, got, 1e-5);
        }
}

// The batched GEMM with fp32 and with bf16 output, for every transpose, against the fp32
// GEMM of each matrix: the bf16 output is the fp32 result rounded, within one bf16 step.
TEST(GemmBf16, BatchedMatchesTheFp32GemmPerMatrixInBothOutputPrecisions) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  const int batch = 3, M = 21, N = 34, K = 19;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Bf16Values A(size_t(batch) * M * K, 3), B(size_t(batch) * K * N, 4);
      std::vector<float> want(size_t(batch) * M * N);
      for (int i = 0; i < batch; ++i)
        cpu::gemm<float>(ta, tb, M, N, K, 1.0f, A.f.data() + size_t(i) * M * K, ta ? M : K,
                         B.f.data() + size_t(i) * K * N, tb ? K : N, 0.0f,
                         want.data() + size_t(i) * M * N, N);
      std::vector<float> got(want.size());
      std::vector<uint16_t> got16(want.size());
      cpu::gemm_bf16_batched(batch, ta, tb, M, N, K, A.h.data(), B.h.data(), got.data());
      cpu::gemm_bf16_batched(batch, ta, tb, M, N, K, A.h.data(), B.h.data(), got16.data());
      expect_close(want, got, 1e-5);
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(bf16_to_float(got16[i]), want[i], std::abs(want[i]) / 256 + 1e-6) << i;
    }
}

// A dense layer writing bf16: the fp32-output GEMM's result (bias included) rounded to nearest,
// within half a bf16 step (at most |x| 2^-8; truncating would be off by up to twice that) plus
// the last-bit differences of oneDNN's fp32 accumulation order, which
// differs between its two kernels at K = 3072 (60 of 786432 elements round differently there,
// none at the other shapes). Shapes of a BERT layer and ones that cut the AMX tiles.
TEST(GemmBf16, Bf16OutputIsTheFp32OutputRounded) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  for (auto [N, in_f, out_f] : {std::array{37, 48, 50}, std::array{64, 128, 384},
                                std::array{1024, 768, 3072}, std::array{1024, 3072, 768}}) {
    Bf16Values in(size_t(N) * in_f, 5), W(size_t(out_f) * in_f, 6), bias(out_f, 7);
    std::vector<float> out(size_t(N) * out_f);
    std::vector<uint16_t> out16(out.size());
    cpu::linear_forward_bf16(out.data(), in.h.data(), W.h.data(), bias.f.data(), N, in_f, out_f);
    cpu::linear_forward_bf16(out16.data(), in.h.data(), W.h.data(), bias.f.data(), N, in_f, out_f);
    double scale = 0;
    for (float v : out) scale = std::max(scale, std::abs(double(v)));
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(bf16_to_float(out16[i]), out[i], std::abs(out[i]) / 256 + 1e-6 * scale) << i;
  }
}

// linear_forward_bf16 / linear_backward_bf16 against the fp32 kernels on the same bf16
// values (the output gradient already bf16, as the model rounds it).
TEST(GemmBf16, LinearLayersMatchTheFp32Kernels) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  const int N = 24, in_f = 40, out_f = 56;
  Bf16Values x(size_t(N) * in_f, 3), W(size_t(out_f) * in_f, 4), dy(size_t(N) * out_f, 5);
  std::vector<float> b(out_f);
  for (int j = 0; j < out_f; ++j) b[j] = 0.02f * static_cast<float>(j) - 0.5f;
  std::vector<float> y(size_t(N) * out_f), y16(y.size());
  cpu::linear_forward<float>(y.data(), x.f.data(), W.f.data(), b.data(), N, in_f, out_f);
  cpu::linear_forward_bf16(y16.data(), x.h.data(), W.h.data(), b.data(), N, in_f, out_f);
  expect_close(y, y16, 1e-5);
  for (bool accumulate : {false, true}) {
    std::vector<float> dx(size_t(N) * in_f, 1.0f), dW(W.f.size(), 2.0f), db(out_f, 3.0f);
    std::vector<float> dx16 = dx, dW16 = dW, db16 = db;
    cpu::linear_backward<float>(dx.data(), dW.data(), db.data(), dy.f.data(), x.f.data(),
                                W.f.data(), N, in_f, out_f, accumulate);
    cpu::linear_backward_bf16(dx16.data(), dW16.data(), db16.data(), dy.f.data(), dy.h.data(),
                              x.h.data(), W.h.data(), N, in_f, out_f, accumulate);
    expect_close(dx, dx16, 1e-5);
    expect_close(dW, dW16, 1e-5);
    expect_close(db, db16, 1e-6);
  }
}

// GELU backward from the bf16 copy of its input: the fp32 kernel's result rounded to bf16, and
// its column sums added onto the bias gradient, in one pass. 150 rows: two full row blocks and
// a partial one; 70 columns: a full column block and a partial one.
TEST(Bf16Kernels, GeluBackwardWritesBf16AndAddsTheBiasGradient) {
  const int N = 150, C = 70;
  const int64_t n = int64_t{N} * C;
  Bf16Values x(n, 6), dy(n, 7);
  std::vector<float> want(n), partials(cpu::column_sums_scratch_floats(N, C));
  std::vector<uint16_t> got16(n);
  cpu::gelu_backward<float>(want.data(), x.f.data(), dy.f.data(), n);
  std::vector<double> want_bias(C, 0.25);
  for (int64_t i = 0; i < n; ++i) want_bias[i % C] += want[i];
  std::vector<float> got_bias(C, 0.25f);
  cpu::gelu_backward_bf16(got16.data(), got_bias.data(), x.h.data(), dy.f.data(), N, C,
                          partials.data());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got16[i], float_to_bf16(want[i])) << i;
  for (int c = 0; c < C; ++c) EXPECT_NEAR(got_bias[c], want_bias[c], 1e-5) << c;
}

TEST(Bf16Kernels, LayerNormBackwardReadsItsInputFromBf16) {
  const int N = 7, C = 40;
  Bf16Values x(size_t(N) * C, 8), dy(size_t(N) * C, 9), gamma(C, 10), beta(C, 11);
  std::vector<float> y(x.f.size()), mean(N), rstd(N);
  cpu::layernorm_forward<float>(y.data(), mean.data(), rstd.data(), x.f.data(), gamma.f.data(),
                                beta.f.data(), N, C, 1e-12);
  std::vector<float> dx(x.f.size()), dg(C, 0.5f), db(C, 0.25f);
  std::vector<float> dx16(x.f.size()), dg16 = dg, db16 = db;
  cpu::layernorm_backward<float>(dx.data(), dg.data(), db.data(), dy.f.data(), x.f.data(),
                                 mean.data(), rstd.data(), gamma.f.data(), N, C);
  cpu::layernorm_backward_bf16(dx16.data(), dg16.data(), db16.data(), dy.f.data(), x.h.data(),
                               mean.data(), rstd.data(), gamma.f.data(), N, C);
  // Equal but for the compiler's contraction of the two instantiations into FMAs.
  expect_close(dx, dx16, 1e-6);
  expect_close(dg, dg16, 1e-6);
  expect_close(db, db16, 1e-6);
}

// The fused forward kernels against the unfused sequence they replace (round, dropout, add,
// LayerNorm, round; round, GELU, round): the same values. Under bf16 GEMMs the first rounding
// is the GEMM's (it writes bf16), so the fused kernels take their input rounded.
TEST(Bf16Kernels, FusedResidualLayerNormEqualsTheUnfusedSequence) {
  const int B = 3, S = 3, N = B * S, C = 48;
  const double eps = 1e-12;
  const Dropout drop{0.25, 99, {2, 1}};
  std::vector<double> dense_d = test::random_vector(size_t(N) * C, 12);
  std::vector<float> dense(dense_d.begin(), dense_d.end());  // fp32, not yet rounded
  Bf16Values residual(size_t(N) * C, 13), gamma(C, 14), beta(C, 15);
  // Unfused: what the fp16 / fp32-GEMM path runs.
  std::vector<float> d = dense;
  for (float& v : d) v = bf16_to_float(float_to_bf16(v));
  cpu::dropout_apply(d.data(), d.data(), B, int64_t(S) * C, drop);
  std::vector<float> out(d.size()), sum(d.size()), mean(N), rstd(N);
  cpu::add_layernorm_forward<float>(out.data(), sum.data(), mean.data(), rstd.data(), d.data(),
                                    residual.f.data(), gamma.f.data(), beta.f.data(), N, C, eps);
  std::vector<float> out2(d.size()), mean2(N), rstd2(N);
  std::vector<uint16_t> out16(d.size()), sum16(d.size()), dense16(d.size());
  for (size_t i = 0; i < dense.size(); ++i) dense16[i] = float_to_bf16(dense[i]);
  cpu::add_layernorm_forward_bf16(out2.data(), out16.data(), sum16.data(), mean2.data(),
                                  rstd2.data(), dense16.data(), drop, residual.f.data(),
                                  gamma.f.data(), beta.f.data(), B, S, C, eps);
  expect_close(mean, mean2, 1e-6);
  expect_close(rstd, rstd2, 1e-6);
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(sum16[i], float_to_bf16(sum[i])) << i;
    ASSERT_NEAR(out2[i], bf16_to_float(float_to_bf16(out[i])), 1e-2 * std::abs(out[i]) + 1e-6) << i;
    ASSERT_EQ(out16[i], float_to_bf16(out2[i])) << i;
  }
}

TEST(Bf16Kernels, FusedGeluForwardEqualsTheUnfusedSequence) {
  const int64_t n = 1000;
  std::vector<double> xd = test::random_vector(n, 16, 3.0);
  std::vector<float> x(xd.begin(), xd.end()), xr(n), g(n);
  for (int64_t i = 0; i < n; ++i) xr[i] = bf16_to_float(float_to_bf16(x[i]));
  cpu::gelu_forward<float>(g.data(), xr.data(), n);
  std::vector<uint16_t> x16(n), g16(n);
  for (int64_t i = 0; i < n; ++i) x16[i] = float_to_bf16(x[i]);
  cpu::gelu_forward_bf16(g16.data(), x16.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(g16[i], float_to_bf16(g[i])) << i;
}

// The bf16 output gradient and its bias gradient in one pass: the rounding of every element,
// and the fp32 column sums added onto what the bias gradient held.
TEST(Bf16Kernels, PackWithColumnSumsEqualsRoundingAndSummingApart) {
  const int N = 137, C = 150;  // neither a multiple of the row block or the column block
  std::vector<double> xd = test::random_vector(size_t(N) * C, 17);
  std::vector<float> x(xd.begin(), xd.end());
  std::vector<double> want(C, 0.5);
  std::vector<float> got(C, 0.5f), partials(cpu::column_sums_scratch_floats(N, C));
  for (int r = 0; r < N; ++r)
    for (int c = 0; c < C; ++c) want[c] += x[size_t(r) * C + c];
  std::vector<uint16_t> x16(x.size());
  cpu::pack_bf16_column_sums(x16.data(), got.data(), x.data(), N, C, partials.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x16[i], float_to_bf16(x[i])) << i;
  for (int c = 0; c < C; ++c) EXPECT_NEAR(got[c], want[c], 1e-5) << c;
}

// The sums are added in fixed blocks of rows, so the thread count does not change a bit.
TEST(Bf16Kernels, ColumnSumsDoNotDependOnTheThreadCount) {
  const int N = 1000, C = 200;
  std::vector<double> xd = test::random_vector(size_t(N) * C, 18);
  std::vector<float> x(xd.begin(), xd.end()), partials(cpu::column_sums_scratch_floats(N, C));
  std::vector<uint16_t> x16(x.size());
  const int threads = num_threads();
  std::vector<std::vector<float>> sums;
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    sums.emplace_back(C, 0.0f);
    cpu::pack_bf16_column_sums(x16.data(), sums.back().data(), x.data(), N, C, partials.data());
  }
  set_num_threads(threads);
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(sums[0], sums[2]);
}

// A GEMM given the scratch its shape needs runs on it; one given none (a shape its caller did
// not plan for) still computes the same result, on oneDNN's own scratchpad, and is counted.
TEST(GemmBf16, RunsOnTheCallersScratchAndCountsTheUnplanned) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  const int M = 64, N = 96, K = 128;
  Bf16Values A(size_t(M) * K, 18), B(size_t(K) * N, 19);
  std::vector<float> planned(size_t(M) * N), unplanned(planned.size());
  const size_t need = cpu::gemm_bf16_scratch_bytes(false, false, M, N, K, K, N, false, N);
  std::vector<std::byte> scratch(need);
  const int64_t before = cpu::gemm_bf16_unplanned_runs();
  cpu::gemm_bf16(false, false, M, N, K, A.h.data(), K, B.h.data(), N, false, planned.data(), N,
                 {scratch.data(), scratch.size()});
  EXPECT_EQ(cpu::gemm_bf16_unplanned_runs(), before);
  cpu::gemm_bf16(false, false, M, N, K, A.h.data(), K, B.h.data(), N, false, unplanned.data(), N);
  EXPECT_EQ(cpu::gemm_bf16_unplanned_runs(), before + (need > 0 ? 1 : 0));
  EXPECT_EQ(planned, unplanned);
}
