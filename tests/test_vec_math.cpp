// The vectorisable fp32 exp/erf against libm, and the fp32 kernels built on them against their
// double twins.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/vec_math.h"

using namespace bertrain::cpu;

TEST(VecMath, ExpFastWithinTwoUlpsOfLibm) {
  double worst = 0;
  for (double x = -87.0; x <= 88.7; x += 1.3e-4) {
    float f = static_cast<float>(x);
    double exact = std::exp(static_cast<double>(f));
    worst = std::max(worst, std::fabs(exp_fast(f) - exact) / exact);
  }
  EXPECT_LT(worst, std::numeric_limits<float>::epsilon());  // measured 8.3e-8
}

TEST(VecMath, ExpFastEdges) {
  EXPECT_EQ(exp_fast(0.0f), 1.0f);
  // The softmax's masked scores (finfo.min - max) must give exactly 0, as libm does.
  EXPECT_EQ(exp_fast(std::numeric_limits<float>::lowest()), 0.0f);
  EXPECT_EQ(exp_fast(-100.0f), 0.0f);
  EXPECT_EQ(exp_fast(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(exp_fast(89.0f), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(exp_fast(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_FLOAT_EQ(exp_fast(88.7f), std::exp(88.7f));
}

TEST(VecMath, ErfFastWithinFewUlpsOfLibm) {
  double worst_abs = 0, worst_rel = 0;
  for (double x = -6.0; x <= 6.0; x += 1e-4) {
    float f = static_cast<float>(x);
    double exact = std::erf(static_cast<double>(f)), got = erf_fast(f);
    worst_abs = std::max(worst_abs, std::fabs(got - exact));
    if (std::fabs(exact) > 1e-30)
      worst_rel = std::max(worst_rel, std::fabs(got - exact) / std::fabs(exact));
  }
  EXPECT_LT(worst_abs, 4e-7);
  EXPECT_LT(worst_rel, 4e-7);
  EXPECT_EQ(erf_fast(0.0f), 0.0f);
  EXPECT_EQ(erf_fast(-1.5f), -erf_fast(1.5f));
  EXPECT_FLOAT_EQ(erf_fast(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_TRUE(std::isnan(erf_fast(std::numeric_limits<float>::quiet_NaN())));
}

TEST(VecMath, FloatGeluMatchesDoubleGelu) {
  std::vector<float> x, y(4001), dx(4001), ones(4001, 1.0f);
  for (int i = 0; i <= 4000; ++i) x.push_back(-10.0f + i * 0.005f);
  std::vector<double> xd(x.begin(), x.end()), yd(x.size()), dxd(x.size()), onesd(x.size(), 1.0);
  gelu_forward(y.data(), x.data(), static_cast<int64_t>(x.size()));
  gelu_backward(dx.data(), x.data(), ones.data(), static_cast<int64_t>(x.size()));
  gelu_forward(yd.data(), xd.data(), static_cast<int64_t>(x.size()));
  gelu_backward(dxd.data(), xd.data(), onesd.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(y[i], yd[i], 1e-6 * std::max(1.0, std::fabs(yd[i]))) << "gelu(" << x[i] << ")";
    EXPECT_NEAR(dx[i], dxd[i], 1e-6) << "gelu'(" << x[i] << ")";
  }
}

// The masked LM's shape: rows of a 30522-word vocabulary, split over row blocks and threads,
// with an ignored row and label smoothing. The loss must not depend on the thread count.
TEST(VecMath, FloatCrossEntropyOverAVocabularyMatchesDouble) {
  const int N = 37, L = 30522;
  std::vector<float> z(static_cast<size_t>(N) * L), p(z.size()), dz(z.size());
  std::vector<int32_t> labels(N);
  for (size_t i = 0; i < z.size(); ++i) z[i] = static_cast<float>(std::sin(0.37 * i) * 9.0);
  for (int r = 0; r < N; ++r) labels[r] = r == 5 ? -100 : (r * 7919) % L;
  std::vector<double> zd(z.begin(), z.end()), pd(z.size()), dzd(z.size());
  double loss = 0, loss_d = 0, loss_1 = 0;
  cross_entropy_forward(p.data(), &loss, z.data(), labels.data(), N, L, 0.1);
  cross_entropy_backward(dz.data(), p.data(), labels.data(), N, L, 2.0, 0.1);
  cross_entropy_forward(pd.data(), &loss_d, zd.data(), labels.data(), N, L, 0.1);
  cross_entropy_backward(dzd.data(), pd.data(), labels.data(), N, L, 2.0, 0.1);
  EXPECT_NEAR(loss, loss_d, 1e-5 * loss_d);
  for (size_t i = 0; i < z.size(); ++i) {
    ASSERT_NEAR(p[i], pd[i], 1e-5 * pd[i] + 1e-12) << "probability " << i;
    ASSERT_NEAR(dz[i], dzd[i], 1e-5 * std::fabs(dzd[i]) + 1e-12) << "gradient " << i;
  }
  const int threads = bertrain::num_threads();
  bertrain::set_num_threads(1);
  cross_entropy_forward(p.data(), &loss_1, z.data(), labels.data(), N, L, 0.1);
  bertrain::set_num_threads(threads);
  EXPECT_EQ(loss, loss_1);
}
