// The bf16 attention kernels against the fp64 attention kernels on the same bf16 inputs: the
// only differences are bf16 roundings (unit roundoff u = 2^-8) of what enters the GEMMs
// (probabilities, score gradient), of the context and of the scores Q K^T. The first two keep
// the results within about 1% of their scale; the scores' rounding moves each logit x by up
// to |x| u, so each probability by up to 2 max|x| u relative (to first order), and with it
// the context and the gradients. A wrong head, mask, layout, dropout draw or scale is off by
// O(1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_bf16.h"
#include "kernels/cpu/gemm_bf16.h"
#include "test_util.h"

using namespace bertrain;

namespace {

// Values rounded to bf16, as doubles for the reference.
std::vector<double> bf16_values(size_t n, uint64_t seed, double scale) {
  std::vector<double> v = test::random_vector(n, seed, scale);
  for (double& x : v) x = bf16_to_float(float_to_bf16(static_cast<float>(x)));
  return v;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

void check(double dropout_p, int S = 19) {
  const int B = 2, nh = 3, D = 16, H = nh * D;
  const Dropout drop{dropout_p, 1234, {2, 1}};  // rank 1 of 2: the masks of global samples
  // Scores of order 1-3, so the softmax is neither flat nor one-hot.
  const std::vector<double> qkv = bf16_values(size_t(B) * S * 3 * H, 1, 1.5);
  const std::vector<double> dctx = bf16_values(size_t(B) * S * H, 2, 1.0);
  std::vector<int32_t> mask(size_t(B) * S, 1);
  for (int s = S - 5; s < S; ++s) mask[S + s] = 0;  // row 1 is padded

  std::vector<double> ctx(dctx.size()), probs(size_t(B) * nh * S * S), dqkv(qkv.size());
  std::vector<double> scratch(cpu::attention_scratch_size(S, num_threads()));
  cpu::attention_forward(ctx.data(), probs.data(), qkv.data(), mask.data(), B, S, nh, D, drop,
                         scratch.data());
  cpu::attention_backward(dqkv.data(), dctx.data(), qkv.data(), probs.data(), B, S, nh, D, drop,
                          scratch.data());

  std::vector<float> qkv32(qkv.begin(), qkv.end()), dctx32(dctx.begin(), dctx.end());
  std::vector<uint16_t> qkv16(qkv.size()), ctx16(ctx.size()), probs16(probs.size());
  std::vector<float> dqkv32(qkv.size());
  std::vector<std::byte> scratch16(cpu::attention_bf16_scratch_bytes(S, nh, D));
  std::vector<uint16_t> rows16(qkv.size());  // the QKV GEMM's bf16 output
  for (size_t i = 0; i < qkv.size(); ++i) rows16[i] = float_to_bf16(qkv32[i]);
  cpu::qkv_to_heads_bf16(qkv16.data(), rows16.data(), B, S, nh, D);
  cpu::attention_forward_bf16(ctx16.data(), probs16.data(), qkv16.data(), mask.data(), B, S, nh, D,
                              drop, scratch16.data());
  cpu::attention_backward_bf16(dqkv32.data(), dctx32.data(), qkv16.data(), probs16.data(), B, S, nh,
                               D, drop, scratch16.data());

  // Probabilities: within one bf16 step of the reference plus the scores' rounding, max|x|
  // taken over the row.
  const double u = 1.0 / 256;
  double x_max_all = 0;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < S; ++i) {
        double x_max = 0;
        for (int j = 0; j < S; ++j) {
          double dot = 0;
          for (int d = 0; d < D; ++d)
            dot += qkv[(size_t(b) * S + i) * 3 * H + h * D + d] *
                   qkv[(size_t(b) * S + j) * 3 * H + H + h * D + d];
          x_max = std::max(x_max, std::abs(dot) / std::sqrt(double(D)));
        }
        x_max_all = std::max(x_max_all, x_max);
        for (int j = 0; j < S; ++j) {
          const size_t at = ((size_t(b) * nh + h) * S + i) * S + j;
          const double p = probs[at];
          ASSERT_NEAR(bf16_to_float(probs16[at]), p, p * (2 * u + 2 * x_max * u) + 1e-7) << at;
        }
      }
  for (int b = 0; b < B; ++b)  // masked keys get exactly zero
    for (int r = 0; r < nh * S; ++r)
      for (int s = 0; s < S; ++s) {
        if (mask[size_t(b) * S + s]) continue;
        ASSERT_EQ(probs16[(size_t(b) * nh * S + r) * S + s], 0);
      }
  const double rel = 1e-2 + 2 * x_max_all * u;
  const double ctx_tol = rel * max_abs(ctx), dqkv_tol = rel * max_abs(dqkv);
  for (size_t i = 0; i < ctx.size(); ++i)
    ASSERT_NEAR(bf16_to_float(ctx16[i]), ctx[i], ctx_tol) << i;
  for (size_t i = 0; i < dqkv.size(); ++i) ASSERT_NEAR(dqkv32[i], dqkv[i], dqkv_tol) << i;
}

bool have_bf16_gemm() {
  return std::strcmp(cpu::bf16_gemm_isa(), "none") != 0;
}

}  // namespace

TEST(AttentionBf16, MatchesTheFp64KernelsOnBf16Inputs) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  check(0.0);
}

TEST(AttentionBf16, DrawsTheSameDropoutMasksAsTheFp32Kernels) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  check(0.3);
}

TEST(AttentionBf16, MatchesTheFp64KernelsOnRowsLongerThanTheSoftmaxBuffer) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "built without oneDNN";
  check(0.3, 1030);  // the softmax recomputes its exponentials past 1024 keys
}
