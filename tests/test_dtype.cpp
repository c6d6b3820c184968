#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/dtype.h"

using namespace bertrain;

static float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is exactly half way between two bf16 values: ties go to the even mantissa (1.0).
  EXPECT_EQ(float_to_bf16(from_bits(0x3f808000)), 0x3f80);
  // 1 + 3 * 2^-8 is half way between 0x3f81 and 0x3f82: ties to even gives 0x3f82.
  EXPECT_EQ(float_to_bf16(from_bits(0x3f818000)), 0x3f82);
  // Just above half way rounds up.
  EXPECT_EQ(float_to_bf16(from_bits(0x3f808001)), 0x3f81);
  EXPECT_EQ(bf16_to_float(0x3f82), from_bits(0x3f820000));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  EXPECT_TRUE(std::isinf(bf16_to_float(float_to_bf16(std::numeric_limits<float>::infinity()))));
  // The largest float rounds up to infinity in bf16, as torch does.
  EXPECT_TRUE(std::isinf(bf16_to_float(float_to_bf16(std::numeric_limits<float>::max()))));
}

TEST(DType, F16RoundsToNearestEvenIncludingSubnormals) {
  EXPECT_EQ(float_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_f16(65519.0f), 0x7bff);  // below the rounding boundary
  EXPECT_EQ(float_to_f16(65520.0f), 0x7c00);  // rounds to infinity
  // 1 + 2^-11 is half way between 1 and 1 + 2^-10: ties to even -> 1.0.
  EXPECT_EQ(float_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(float_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Smallest subnormal 2^-24, and half of it ties to even (zero).
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(float_to_f16(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(f16_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_float(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(std::nanf("")))));
}

TEST(DType, F16RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    uint16_t v = static_cast<uint16_t>(h);
    if ((v & 0x7c00) == 0x7c00 && (v & 0x3ff)) continue;  // NaN payloads
    ASSERT_EQ(float_to_f16(f16_to_float(v)), v) << std::hex << h;
  }
}

TEST(DType, ConvertBetweenTypes) {
  int64_t ids[3] = {0, 101, 30521};
  int32_t out[3];
  convert(ids, DType::I64, out, DType::I32, 3);
  EXPECT_EQ(out[2], 30521);
  float f[2] = {1.5f, -3.25f};
  uint16_t h[2];
  double d[2];
  convert(f, DType::F32, h, DType::BF16, 2);
  convert(h, DType::BF16, d, DType::F64, 2);
  EXPECT_EQ(d[0], 1.5);
  EXPECT_EQ(d[1], -3.25);
  DType t;
  EXPECT_TRUE(parse_dtype("BF16", &t));
  EXPECT_EQ(t, DType::BF16);
  EXPECT_FALSE(parse_dtype("F8", &t));
}
