// exp and erf for fp32 loops that must vectorise: branch-free, inline, no errno, so GCC turns
// a loop over them into AVX-512/AVX2 code (libm's expf/erff are scalar calls). Accuracy is a
// couple of float ulps (tests/vec_math_test.cpp checks it against libm); double keeps libm,
// because double precision serves the finite-difference checks.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace bertrain::cpu {

// exp(x) by range reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial for e^r (Cephes'
// expf coefficients) and 2^n built in the exponent bits. Exactly 0 below ln(FLT_MIN), as libm
// is for the softmax's masked scores (-3.4e38); +inf above ln(FLT_MAX).
inline float exp_fast(float x) {
  constexpr float kLo = -87.33654f, kHi = 88.72283f;
  float xc = x < kLo ? kLo : (x > kHi ? kHi : x);  // NaN passes through
  // Round x / ln2 to the nearest integer by the 1.5 * 2^23 trick (no call, no branch).
  constexpr float kShift = 12582912.0f;
  float t = xc * 1.44269504088896341f + kShift;
  int32_t n = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kShift);
  float nf = t - kShift;
  float r = xc - nf * 0.693359375f;  // ln2 split in two so r keeps its low bits
  r = r - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // n is in [-126, 128]; 2^128 is not a float, so scale by 2^(n-1) twice that far up.
  int32_t n1 = n >> 1;
  float s1 = std::bit_cast<float>((n1 + 127) << 23);
  float s2 = std::bit_cast<float>((n - n1 + 127) << 23);
  float y = p * s1 * s2;
  y = x < kLo ? 0.0f : y;
  return x > kHi ? INFINITY : y;
}
inline double exp_fast(double x) {
  return std::exp(x);
}

// erf(x) as x * P(x^2) / Q(x^2) on [-4, 4] (Eigen's rational approximation); |erf| rounds to 1
// in float beyond 4.
inline float erf_fast(float x) {
  float xc = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);  // NaN passes through
  float x2 = xc * xc;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * xc;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return p / q;
}
inline double erf_fast(double x) {
  return std::erf(x);
}

}  // namespace bertrain::cpu
