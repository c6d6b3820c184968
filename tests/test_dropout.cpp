// Dropout masks (kernels/dropout_mask.h): their definition, their statistics, and that a
// sample draws the same mask whichever data-parallel rank holds it.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/layernorm.h"
#include "test_util.h"

namespace bertrain {
namespace {

// The masks' definition, written out: the site key is the low 32 bits of splitmix64's finaliser
// of seed + golden; sample g's key is fmix32(site key + g * 0x27d4eb2f); element c draws
// u = fmix32(sample key ^ c * 0x9e3779b9) / 2^32 and is kept when u >= p. Attention query row i
// of head h has key fmix32(fmix32(sample key ^ h * 0x85ebca77) ^ i * 0xc2b2ae3d), and its key
// j draws from that key as element j.
uint32_t fmix32(uint32_t x) {
  x = (x ^ (x >> 16)) * 0x85ebca6bu;
  x = (x ^ (x >> 13)) * 0xc2b2ae35u;
  return x ^ (x >> 16);
}
uint32_t reference_sample_key(uint64_t seed, int64_t g) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  const uint32_t site = static_cast<uint32_t>(z ^ (z >> 31));
  return fmix32(site + static_cast<uint32_t>(g) * 0x27d4eb2fu);
}
bool reference_draw(uint32_t key, double p, int64_t c) {
  return fmix32(key ^ (static_cast<uint32_t>(c) * 0x9e3779b9u)) / 4294967296.0 >= p;
}
bool reference_keep(uint64_t seed, double p, int64_t g, int64_t c) {
  return reference_draw(reference_sample_key(seed, g), p, c);
}
bool reference_attention_keep(uint64_t seed, double p, int64_t g, int64_t h, int64_t i, int64_t j) {
  const uint32_t head =
      fmix32(reference_sample_key(seed, g) ^ (static_cast<uint32_t>(h) * 0x85ebca77u));
  return reference_draw(fmix32(head ^ (static_cast<uint32_t>(i) * 0xc2b2ae3du)), p, j);
}

TEST(Dropout, MaskEqualsItsDefinition) {
  const int64_t per_sample = 40000;
  for (double p : {0.0, 1e-12, 0.1, 0.5, 0.9, 1 - 1e-12}) {
    for (SampleRows rows : {SampleRows{1, 0}, SampleRows{3, 2}}) {
      const DropoutMask mask(Dropout{p, 12345, rows});
      int64_t kept = 0;
      for (int64_t b = 0; b < 4; ++b) {
        const ElementMask m = mask.sample(b), from_7 = mask.sample(b, 7);
        for (int64_t c = 0; c < per_sample; ++c) {
          const bool want = reference_keep(12345, p, b * rows.stride + rows.base, c);
          ASSERT_EQ(m.keep(c), want) << "p " << p << " sample " << b << " element " << c;
          ASSERT_EQ(mask.keep(b * per_sample + c, per_sample), want);
          if (c >= 7) {
            ASSERT_EQ(from_7.keep(c - 7), want);
          }
          kept += want;
        }
      }
      EXPECT_NEAR(static_cast<double>(kept) / (4 * per_sample), 1.0 - p, 0.005) << "p " << p;
      for (int64_t b = 0; b < 2; ++b)
        for (int h = 0; h < 3; ++h)
          for (int i = 0; i < 40; ++i)
            for (int j = 0; j < 40; ++j) {
              const bool want =
                  reference_attention_keep(12345, p, b * rows.stride + rows.base, h, i, j);
              ASSERT_EQ(mask.attention_row(b, h, i).keep(j), want) << b << h << i << j;
              ASSERT_EQ(mask.head_row(b * 3 + h, 3, i).keep(j), want);
            }
    }
  }
}

// A sample padded to another length (another rank's batch is padded to its own longest row)
// draws the same attention masks over its real keys: the context of its real rows is the same.
TEST(Dropout, AttentionMasksDoNotDependOnThePaddedLength) {
  const int len = 10, nh = 2, D = 4, H = nh * D;
  const auto qkv_real = test::random_vector(len * 3 * H, 8);
  std::vector<double> ctx_at[2];
  for (int k = 0; k < 2; ++k) {
    const int S = k == 0 ? 12 : 17;
    std::vector<double> qkv(S * 3 * H, 0.0), probs(nh * S * S), lse(nh * S);
    std::copy(qkv_real.begin(), qkv_real.end(), qkv.begin());
    std::vector<int32_t> mask(S, 0);
    std::fill_n(mask.begin(), len, 1);
    std::vector<double> ctx(S * H), scratch(cpu::attention_scratch_size(S, 2));
    cpu::attention_forward(ctx.data(), probs.data(), qkv.data(), mask.data(), 1, S, nh, D,
                           Dropout{0.4, 5, {}}, scratch.data());
    ctx_at[k].assign(ctx.begin(), ctx.begin() + len * H);
  }
  for (int i = 0; i < len * H; ++i) ASSERT_NEAR(ctx_at[0][i], ctx_at[1][i], 1e-12) << i;
}

// P(both kept) of two draws that must be independent, over n pairs at p = 0.5: 0.25 to within
// 5 standard deviations (sd = sqrt(0.25 * 0.75 / n)).
template <typename Pair>
void expect_independent(Pair pair, const char* what) {
  const int n = 200000;
  int both = 0;
  for (int i = 0; i < n; ++i) both += pair(i);
  EXPECT_NEAR(both / double(n), 0.25, 5 * std::sqrt(0.25 * 0.75 / n)) << what;
}

TEST(Dropout, DrawsAreIndependentAcrossElementsSamplesAndSites) {
  const DropoutMask a(Dropout{0.5, 7, {}}), b(Dropout{0.5, 7 ^ 0xd1b54a32d192ed03ull, {}});
  expect_independent([&](int i) { return a.sample(0).keep(i) && a.sample(0).keep(i + 1); },
                     "neighbouring elements");
  expect_independent(
      [&](int i) { return a.sample(i % 64).keep(i) && a.sample(i % 64 + 1).keep(i); },
      "the same element of neighbouring samples");
  expect_independent([&](int i) { return a.sample(1).keep(i) && b.sample(1).keep(i); },
                     "the same element at two sites");
}

TEST(Dropout, KeepsAreScaledAndRepeatForTheSameSeed) {
  const int B = 4;
  const int64_t per_sample = 25000, n = B * per_sample;
  std::vector<float> ones(n, 1.0f), x(n), y(n), z(n);
  cpu::dropout_apply(x.data(), ones.data(), B, per_sample, Dropout{0.1, 123, {}});
  cpu::dropout_apply(y.data(), ones.data(), B, per_sample, Dropout{0.1, 123, {}});
  cpu::dropout_apply(z.data(), ones.data(), B, per_sample, Dropout{0.1, 124, {}});
  EXPECT_EQ(x, y);  // same seed, same mask
  EXPECT_NE(x, z);
  int64_t kept = 0;
  for (float v : x) {
    if (v != 0.0f) {
      ASSERT_FLOAT_EQ(v, 1.0f / 0.9f);
    }
    kept += v != 0.0f;
  }
  EXPECT_NEAR(kept / double(n), 0.9, 0.005);
}

// Data parallel: rank r of 2 holds rows r, r + 2, ... of the global batch. Every dropout kernel
// gives each of its rows exactly the global batch's values for that row.
class RankRows : public ::testing::Test {
 protected:
  static constexpr int kB = 6, kWorld = 2;
  // The rows of rank r of a [kB, per_row] tensor.
  template <typename V>
  static V rank_rows(const V& all, int r, int64_t per_row) {
    V mine;
    for (int b = r; b < kB; b += kWorld)
      mine.insert(mine.end(), all.begin() + b * per_row, all.begin() + (b + 1) * per_row);
    return mine;
  }
  static Dropout rank_drop(double p, int r) { return {p, 99, {kWorld, r}}; }
};

TEST_F(RankRows, DropoutDrawsEachSamplesGlobalMask) {
  const int64_t per = 3000;
  const auto x = test::random_vector(kB * per, 1);
  std::vector<double> all(x.size());
  cpu::dropout_apply(all.data(), x.data(), kB, per, Dropout{0.3, 99, {}});
  for (int r = 0; r < kWorld; ++r) {
    const auto mine_x = rank_rows(x, r, per);
    std::vector<double> mine(mine_x.size());
    cpu::dropout_apply(mine.data(), mine_x.data(), kB / kWorld, per, rank_drop(0.3, r));
    EXPECT_EQ(mine, rank_rows(all, r, per)) << "rank " << r;
  }
}

TEST_F(RankRows, AttentionDropsEachSamplesGlobalMask) {
  const int S = 70, nh = 2, D = 4, H = nh * D;  // S > 64: two blocks of the blockwise kernel
  const auto qkv = test::random_vector(kB * S * 3 * H, 2);
  const std::vector<int32_t> mask(kB * S, 1);
  std::vector<double> scratch(
      std::max(cpu::attention_scratch_size(S, 2), cpu::attention_blockwise_scratch_size(S, 2)));
  for (bool blockwise : {false, true}) {
    auto run = [&](std::vector<double>& ctx, const std::vector<double>& q, int B, Dropout d) {
      std::vector<double> probs(static_cast<size_t>(B) * nh * S * S), lse(B * nh * S);
      ctx.assign(static_cast<size_t>(B) * S * H, 0.0);
      if (blockwise)
        cpu::attention_forward_blockwise(ctx.data(), lse.data(), q.data(), mask.data(), B, S, nh, D,
                                         d, scratch.data());
      else
        cpu::attention_forward(ctx.data(), probs.data(), q.data(), mask.data(), B, S, nh, D, d,
                               scratch.data());
    };
    std::vector<double> all, mine;
    run(all, qkv, kB, Dropout{0.3, 99, {}});
    for (int r = 0; r < kWorld; ++r) {
      run(mine, rank_rows(qkv, r, S * 3 * H), kB / kWorld, rank_drop(0.3, r));
      EXPECT_EQ(mine, rank_rows(all, r, S * H)) << "rank " << r << " blockwise " << blockwise;
    }
  }
}

TEST_F(RankRows, FusedResidualLayerNormDropsEachSamplesGlobalMask) {
  const int S = 5, C = 32;
  const int64_t per = S * C;
  std::vector<uint16_t> dense16;
  for (double v : test::random_vector(kB * per, 3)) dense16.push_back(float_to_bf16(float(v)));
  const auto res_d = test::random_vector(kB * per, 4);
  const std::vector<float> residual(res_d.begin(), res_d.end()), gamma(C, 1.0f), beta(C, 0.0f);
  auto run = [&](const std::vector<uint16_t>& d16, const std::vector<float>& res, int B,
                 Dropout d) {
    const size_t n = d16.size();
    std::vector<float> out(n), mean(B * S), rstd(B * S);
    std::vector<uint16_t> out16(n), sum16(n);
    cpu::add_layernorm_forward_bf16(out.data(), out16.data(), sum16.data(), mean.data(),
                                    rstd.data(), d16.data(), d, res.data(), gamma.data(),
                                    beta.data(), B, S, C, 1e-12);
    return sum16;  // the dropped dense output plus the residual
  };
  const auto all = run(dense16, residual, kB, Dropout{0.3, 99, {}});
  for (int r = 0; r < kWorld; ++r) {
    const auto mine = run(rank_rows(dense16, r, per), rank_rows(residual, r, per), kB / kWorld,
                          rank_drop(0.3, r));
    EXPECT_EQ(mine, rank_rows(all, r, per)) << "rank " << r;
  }
}

}  // namespace
}  // namespace bertrain
