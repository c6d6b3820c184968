// Every kernel's backward against central finite differences, in double precision.
#include <gtest/gtest.h>

#include <numeric>

#include "core/parallel.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/linear.h"
#include "test_util.h"

using namespace bertrain;
using test::expect_gradient;
using test::random_vector;
namespace k = bertrain::cpu;

static double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

TEST(GradCheck, Embedding) {
  const int B = 2, S = 3, H = 4, V = 6, P = 5, TV = 2;
  std::vector<int32_t> ids = {0, 3, 5, 3, 1, 0}, types = {0, 0, 1, 1, 0, 1};
  auto word = random_vector(V * H, 1), pos = random_vector(P * H, 2),
       type = random_vector(TV * H, 3);
  auto R = random_vector(B * S * H, 4);
  std::vector<double> out(B * S * H);
  auto f = [&] {
    k::embedding_forward(out.data(), ids.data(), types.data(), word.data(), pos.data(), type.data(),
                         B, S, H);
    return dot(out, R);
  };
  std::vector<double> dw(V * H), dp(P * H), dt(TV * H);
  k::embedding_backward(dw.data(), dp.data(), dt.data(), R.data(), ids.data(), types.data(), B, S,
                        H,
                        /*padding_idx=*/-1);
  expect_gradient(f, word.data(), dw.data(), word.size(), "word");
  expect_gradient(f, pos.data(), dp.data(), pos.size(), "pos");
  expect_gradient(f, type.data(), dt.data(), type.size(), "type");
  // With padding_idx 0 the [PAD] row gets no gradient (nn.Embedding padding_idx).
  std::vector<double> dw0(V * H), dp0(P * H), dt0(TV * H);
  k::embedding_backward(dw0.data(), dp0.data(), dt0.data(), R.data(), ids.data(), types.data(), B,
                        S, H, 0);
  for (int c = 0; c < H; ++c) EXPECT_EQ(dw0[c], 0.0);
  for (int i = H; i < V * H; ++i) EXPECT_EQ(dw0[i], dw[i]);
}

TEST(GradCheck, LayerNormAndResidualAdd) {
  const int N = 3, C = 7;
  auto a = random_vector(N * C, 1, 2.0), b = random_vector(N * C, 2);
  auto gamma = random_vector(C, 3), beta = random_vector(C, 4), R = random_vector(N * C, 5);
  std::vector<double> out(N * C), sum(N * C), mean(N), rstd(N);
  auto f = [&] {
    k::add_layernorm_forward(out.data(), sum.data(), mean.data(), rstd.data(), a.data(), b.data(),
                             gamma.data(), beta.data(), N, C, 1e-12);
    return dot(out, R);
  };
  f();
  std::vector<double> dx(N * C), dg(C), db(C);
  k::layernorm_backward(dx.data(), dg.data(), db.data(), R.data(), sum.data(), mean.data(),
                        rstd.data(), gamma.data(), N, C);
  expect_gradient(f, a.data(), dx.data(), a.size(), "a");
  expect_gradient(f, b.data(), dx.data(), b.size(), "b");
  expect_gradient(f, gamma.data(), dg.data(), C, "gamma");
  expect_gradient(f, beta.data(), db.data(), C, "beta");
  // The plain LayerNorm forward agrees with the fused one.
  f();
  std::vector<double> out2(N * C), m2(N), r2(N);
  k::layernorm_forward(out2.data(), m2.data(), r2.data(), sum.data(), gamma.data(), beta.data(), N,
                       C, 1e-12);
  for (int i = 0; i < N * C; ++i) EXPECT_NEAR(out2[i], out[i], 1e-14);
}

TEST(GradCheck, Linear) {
  const int N = 4, IN = 5, OUT = 3;
  auto x = random_vector(N * IN, 1), W = random_vector(OUT * IN, 2), b = random_vector(OUT, 3);
  auto R = random_vector(N * OUT, 4);
  std::vector<double> out(N * OUT);
  auto f = [&] {
    k::linear_forward(out.data(), x.data(), W.data(), b.data(), N, IN, OUT);
    return dot(out, R);
  };
  std::vector<double> dx(N * IN), dW(OUT * IN), db(OUT);
  k::linear_backward(dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), N, IN, OUT);
  expect_gradient(f, x.data(), dx.data(), x.size(), "x");
  expect_gradient(f, W.data(), dW.data(), W.size(), "W");
  expect_gradient(f, b.data(), db.data(), b.size(), "b");
  // Parameter grads accumulate; accumulate_din adds onto what din holds.
  std::vector<double> dx2(N * IN, 1.0), dW2 = dW, db2 = db;
  k::linear_backward(dx2.data(), dW2.data(), db2.data(), R.data(), x.data(), W.data(), N, IN, OUT,
                     true);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx2[i], dx[i] + 1.0, 1e-12);
  for (size_t i = 0; i < dW.size(); ++i) EXPECT_NEAR(dW2[i], 2 * dW[i], 1e-12);
  for (size_t i = 0; i < db.size(); ++i) EXPECT_NEAR(db2[i], 2 * db[i], 1e-12);
}

TEST(GradCheck, GeluAndTanh) {
  const int n = 50;
  auto x = random_vector(n, 1, 3.0), R = random_vector(n, 2);
  std::vector<double> out(n), dx(n);
  auto gelu = [&] {
    k::gelu_forward(out.data(), x.data(), n);
    return dot(out, R);
  };
  k::gelu_backward(dx.data(), x.data(), R.data(), n);
  expect_gradient(gelu, x.data(), dx.data(), n, "gelu");
  EXPECT_NEAR(out[0], 0.5 * x[0] * (1 + std::erf(x[0] / std::sqrt(2.0))), 1e-15);
  auto th = [&] {
    k::tanh_forward(out.data(), x.data(), n);
    return dot(out, R);
  };
  th();
  k::tanh_backward(dx.data(), out.data(), R.data(), n);
  expect_gradient(th, x.data(), dx.data(), n, "tanh");
}

// Cross-entropy with an ignored row, plain and with HF's label smoothing (eps 0.1):
// (1 - eps) NLL + eps mean over classes of -log p, averaged over the 3 counted rows.
static void check_cross_entropy(double eps) {
  const int N = 4, L = 5;
  auto z = random_vector(N * L, 1, 2.0);
  std::vector<int32_t> labels = {2, -100, 0, 4};
  std::vector<double> probs(N * L), dz(N * L);
  auto f = [&] {
    double loss;
    k::cross_entropy_forward(probs.data(), &loss, z.data(), labels.data(), N, L, eps);
    return loss;
  };
  double loss = f();
  k::cross_entropy_backward(dz.data(), probs.data(), labels.data(), N, L, 1.0, eps);
  expect_gradient(f, z.data(), dz.data(), z.size(), "logits");
  double ref = 0;
  for (int r : {0, 2, 3}) {
    double mx = *std::max_element(z.begin() + r * L, z.begin() + (r + 1) * L), s = 0;
    for (int c = 0; c < L; ++c) s += std::exp(z[r * L + c] - mx);
    auto nll = [&](int c) { return std::log(s) + mx - z[r * L + c]; };
    double mean_all = 0;
    for (int c = 0; c < L; ++c) mean_all += nll(c) / L;
    ref += (1 - eps) * nll(labels[r]) + eps * mean_all;
  }
  EXPECT_NEAR(loss, ref / 3, 1e-14);
}

TEST(GradCheck, CrossEntropyWithIgnoredLabel) {
  check_cross_entropy(0.0);
}
TEST(GradCheck, CrossEntropyWithLabelSmoothing) {
  check_cross_entropy(0.1);
}

static void check_attention(double dropout_p) {
  const int B = 2, S = 5, nh = 2, D = 3, H = nh * D;
  auto qkv = random_vector(B * S * 3 * H, 1);
  std::vector<int32_t> mask = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
  auto R = random_vector(B * S * H, 2);
  const Dropout drop{dropout_p, 77, {}};
  std::vector<double> ctx(B * S * H), probs(B * nh * S * S);
  std::vector<double> scratch(k::attention_scratch_size(S, num_threads()));
  auto f = [&] {
    k::attention_forward(ctx.data(), probs.data(), qkv.data(), mask.data(), B, S, nh, D, drop,
                         scratch.data());
    return dot(ctx, R);
  };
  f();
  // Masked keys get exactly zero probability.
  for (int h = 0; h < nh; ++h)
    for (int i = 0; i < S; ++i) EXPECT_EQ(probs[(h * S + i) * S + 3], 0.0);
  std::vector<double> dqkv(qkv.size());
  k::attention_backward(dqkv.data(), R.data(), qkv.data(), probs.data(), B, S, nh, D, drop,
                        scratch.data());
  expect_gradient(f, qkv.data(), dqkv.data(), qkv.size(), "qkv");
}

TEST(GradCheck, AttentionWithMask) {
  check_attention(0.0);
}
TEST(GradCheck, AttentionWithMaskAndDropout) {
  check_attention(0.3);
}

// The memory-efficient kernels compute the same function as the standard ones (checked on a
// sequence longer than one query block, with a partial last block) and their own gradients.
static void check_blockwise(double dropout_p) {
  const int B = 2, S = 70, nh = 2, D = 3, H = nh * D;
  auto qkv = random_vector(B * S * 3 * H, 21);
  std::vector<int32_t> mask(B * S, 1);
  for (int s = 50; s < S; ++s) mask[S + s] = 0;
  auto R = random_vector(B * S * H, 22);
  const Dropout drop{dropout_p, 5, {}};
  std::vector<double> ctx(B * S * H), ctx_std(B * S * H), probs(B * nh * S * S), lse(B * nh * S);
  const int threads = num_threads();
  std::vector<double> scratch(std::max(k::attention_scratch_size(S, threads),
                                       k::attention_blockwise_scratch_size(S, threads)));
  k::attention_forward(ctx_std.data(), probs.data(), qkv.data(), mask.data(), B, S, nh, D, drop,
                       scratch.data());
  auto f = [&] {
    k::attention_forward_blockwise(ctx.data(), lse.data(), qkv.data(), mask.data(), B, S, nh, D,
                                   drop, scratch.data());
    return dot(ctx, R);
  };
  f();
  for (size_t i = 0; i < ctx.size(); ++i) ASSERT_NEAR(ctx[i], ctx_std[i], 1e-12) << i;
  std::vector<double> dq_std(qkv.size()), dq(qkv.size());
  k::attention_backward(dq_std.data(), R.data(), qkv.data(), probs.data(), B, S, nh, D, drop,
                        scratch.data());
  k::attention_backward_blockwise(dq.data(), R.data(), qkv.data(), lse.data(), mask.data(), B, S,
                                  nh, D, drop, scratch.data());
  for (size_t i = 0; i < dq.size(); ++i) ASSERT_NEAR(dq[i], dq_std[i], 1e-12) << i;
  // Finite differences on every 7th input keep the test quick.
  expect_gradient(f, qkv.data(), dq.data(), qkv.size(), "qkv", 1e-6, 7);
}

TEST(GradCheck, MemoryEfficientAttention) {
  check_blockwise(0.0);
}
TEST(GradCheck, MemoryEfficientAttentionWithDropout) {
  check_blockwise(0.25);
}
