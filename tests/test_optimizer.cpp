#include <gtest/gtest.h>

#include <cmath>

#include "model/bert.h"
#include "train/optimizer.h"

using namespace bertrain;

TEST(AdamW, MatchesTorchFormulaOverStepsAndLeavesGradientsZero) {
  BertConfig c = preset_config("tiny");
  ParamLayout layout(c);
  AdamW<double> opt(layout, {0.1, 0.9, 0.999, 1e-8, 0.0});
  std::vector<double> p(layout.total(), 1.0), g(layout.total(), 0.0);
  double ref_p = 1.0, m = 0, v = 0;
  for (int t = 1; t <= 3; ++t) {
    g[0] = 0.5;
    g.back() = 0.25;
    opt.step(p.data(), g.data(), 0.1, 0.5);  // grad_scale halves the gradient (clipping)
    EXPECT_EQ(g[0], 0.0);
    EXPECT_EQ(g.back(), 0.0);
    double gr = 0.25;
    m = 0.9 * m + 0.1 * gr;
    v = 0.999 * v + 0.001 * gr * gr;
    ref_p -= 0.1 / (1 - std::pow(0.9, t)) * m /
             (std::sqrt(v) / std::sqrt(1 - std::pow(0.999, t)) + 1e-8);
    EXPECT_NEAR(p[0], ref_p, 1e-14);
  }
  EXPECT_EQ(opt.steps(), 3);
}

TEST(AdamW, WeightDecaySkipsBiasesAndLayerNorm) {
  BertConfig c = preset_config("tiny");
  ParamLayout layout(c);
  AdamW<double> opt(layout, {0.5, 0.9, 0.999, 1e-8, 0.1});
  std::vector<double> p(layout.total(), 2.0), g(layout.total(), 0.0);
  opt.step(p.data(), g.data(), 0.5);
  for (const ParamSpec& s : layout.params()) {
    bool no_decay =
        s.name.find("bias") != std::string::npos || s.name.find("LayerNorm") != std::string::npos;
    EXPECT_EQ(s.decay, !no_decay) << s.name;
    EXPECT_DOUBLE_EQ(p[s.offset], no_decay ? 2.0 : 2.0 * (1 - 0.5 * 0.1)) << s.name;
  }
}

// ZeRO-1's optimizer: AdamW over pieces of the buffer updates each parameter exactly as one
// AdamW over all of them (weight decay runs cut by the pieces' edges included), keeps only its
// piece's state, and leaves the other parameters and gradients alone.
TEST(AdamW, ShardsTogetherUpdateExactlyAsTheWhole) {
  BertConfig c = preset_config("tiny");
  ParamLayout layout(c);
  const size_t n = layout.total();
  std::vector<double> p0(n), g0(n);
  for (size_t i = 0; i < n; ++i) {
    p0[i] = std::sin(0.37 * static_cast<double>(i));
    g0[i] = std::cos(0.11 * static_cast<double>(i));
  }
  const AdamWConfig cfg{0.01, 0.9, 0.999, 1e-8, 0.1};
  AdamW<double> whole(layout, cfg);
  std::vector<double> p = p0, g = g0;
  for (int t = 0; t < 3; ++t) {
    g = g0;
    whole.step(p.data(), g.data(), 0.01, 0.7);
  }
  const int world = 3;
  std::vector<double> q = p0;
  for (int r = 0; r < world; ++r) {
    AdamW<double> piece(layout, cfg, cpu_device(), shard_of(n, r, world));
    ASSERT_TRUE(piece.sharded());
    ASSERT_EQ(piece.state_size(), shard_of(n, r, world).size());
    const std::vector<double> before = q;
    for (int t = 0; t < 3; ++t) {
      g = g0;
      piece.step(q.data(), g.data(), 0.01, 0.7);
      const Shard s = piece.shard();
      for (size_t i = 0; i < n; ++i) {
        const bool mine = i >= s.begin && i < s.end;
        EXPECT_EQ(g[i], mine ? 0.0 : g0[i]) << i;  // only the shard's gradients are read
        if (!mine) {
          ASSERT_EQ(q[i], before[i]) << i;
        }
      }
    }
    for (size_t i = 0; i < piece.state_size(); ++i)
      ASSERT_EQ(piece.exp_avg()[i], whole.exp_avg()[piece.shard().begin + i]);
  }
  EXPECT_EQ(q, p);
}

TEST(Schedule, LinearWithWarmupLikeHuggingFace) {
  LrSchedule s{ScheduleType::Linear, 1e-3, 2, 10};
  EXPECT_DOUBLE_EQ(s.lr(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr(1), 5e-4);
  EXPECT_DOUBLE_EQ(s.lr(2), 1e-3);
  EXPECT_DOUBLE_EQ(s.lr(6), 5e-4);
  EXPECT_DOUBLE_EQ(s.lr(10), 0.0);
  EXPECT_DOUBLE_EQ(s.lr(12), 0.0);
  LrSchedule c{ScheduleType::Constant, 1e-3, 2, 10};
  EXPECT_DOUBLE_EQ(c.lr(0), 1e-3);
  LrSchedule cw{ScheduleType::ConstantWithWarmup, 1e-3, 4, 10};
  EXPECT_DOUBLE_EQ(cw.lr(1), 2.5e-4);
  EXPECT_DOUBLE_EQ(cw.lr(9), 1e-3);
  EXPECT_EQ(parse_schedule("linear"), ScheduleType::Linear);
  EXPECT_THROW(parse_schedule("cosine_wobble"), Error);
}

// transformers' get_cosine_schedule_with_warmup (num_cycles 0.5),
// get_cosine_with_hard_restarts_schedule_with_warmup (num_cycles 1) and
// get_polynomial_decay_schedule_with_warmup (lr_end 1e-7, power 1), worked out at warmup 2 of
// 10 steps: progress (step - 2) / 8 after the warmup.
TEST(Schedule, CosineRestartsAndPolynomialLikeHuggingFace) {
  LrSchedule cos{ScheduleType::Cosine, 1.0, 2, 10};
  EXPECT_DOUBLE_EQ(cos.lr(1), 0.5);                                              // warmup
  EXPECT_DOUBLE_EQ(cos.lr(2), 1.0);                                              // cos(0)
  EXPECT_NEAR(cos.lr(4), 0.5 * (1 + std::sqrt(0.5)), 1e-15);                     // cos(pi / 4)
  EXPECT_NEAR(cos.lr(6), 0.5, 1e-15);                                            // cos(pi / 2)
  EXPECT_NEAR(cos.lr(10), 0.0, 1e-15);                                           // cos(pi)
  EXPECT_NEAR(cos.lr(12), 0.5 * (1 + std::cos(std::acos(-1.0) * 1.25)), 1e-15);  // past the end
  LrSchedule restarts{ScheduleType::CosineWithRestarts, 1.0, 2, 10};
  EXPECT_NEAR(restarts.lr(6), 0.5, 1e-15);
  EXPECT_EQ(restarts.lr(10), 0.0);  // progress 1: 0, not a restart
  LrSchedule poly{ScheduleType::Polynomial, 1.0, 2, 10};
  EXPECT_DOUBLE_EQ(poly.lr(1), 0.5);
  EXPECT_NEAR(poly.lr(6), (1 - 1e-7) * 0.5 + 1e-7, 1e-15);
  EXPECT_NEAR(poly.lr(10), 1e-7, 1e-15);
  EXPECT_EQ(poly.lr(11), 1e-7);  // lr_end holds after the last step
  EXPECT_THROW((LrSchedule{ScheduleType::Polynomial, 1e-8, 0, 10}.lr(3)), Error);
  EXPECT_EQ(parse_schedule("cosine_with_restarts"), ScheduleType::CosineWithRestarts);
  EXPECT_EQ(parse_schedule("polynomial"), ScheduleType::Polynomial);
}

TEST(Clip, CoefficientAndNorm) {
  EXPECT_DOUBLE_EQ(clip_coefficient(0.5, 1.0), 1.0);
  EXPECT_NEAR(clip_coefficient(2.0, 1.0), 1.0 / (2.0 + 1e-6), 1e-15);
  EXPECT_DOUBLE_EQ(clip_coefficient(5.0, 0.0), 1.0);
  std::vector<float> g = {3, 4, 0, 0};
  double squares = 0;  // the norm is the square root of the device's sum of squares
  cpu_ops<float>().sum_squares(&squares, g.data(), static_cast<int64_t>(g.size()));
  EXPECT_DOUBLE_EQ(squares, 25.0);
}
