// The CUDA backend on a GPU (ctest label "gpu"; bench/gpu_check.sh runs them, a machine without
// a GPU does not: `./run test` leaves the label out). Every kernel of the CUDA op table against
// its CPU twin on fresh random inputs, with outputs poisoned (NaN) before the call so that an
// element a kernel fails to write shows; then the bert_tiny golden checks, mixed precision and a
// resumed run on the GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "core/buffer.h"
#include "device/cuda_device.h"
#include "golden_bert_tiny_checks.h"
#include "kernels/cpu/attention.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "train/checkpoints.h"
#include "train/trainer.h"

using namespace bertrain;

namespace {

// The GPU. BERTRAIN_GPU_TESTS_DRY_RUN=1 puts the CPU in its place, by hand only, to check the
// tests' own code (sizes, poisoning, tolerances) on a machine without a GPU: CPU against CPU
// proves nothing about the CUDA kernels.
const Device& gpu() {
  static const Device d = std::getenv("BERTRAIN_GPU_TESTS_DRY_RUN") ? cpu_device() : cuda_device();
  return d;
}
const Ops<float>& G() {
  return *gpu().f32;
}
const Ops<float>& C() {
  return cpu_ops<float>();
}

// A device buffer holding a copy of host values, or n poisoned elements.
template <typename T>
struct DevBuf {
  Buffer<T> buf;
  explicit DevBuf(const std::vector<T>& host)
      : buf(host.size(), MemCategory::Temporaries, "gpu test", *gpu().allocator) {
    G().upload(buf.data(), host.data(), host.size() * sizeof(T));
  }
  explicit DevBuf(size_t n) : DevBuf(poison(n)) {}
  static std::vector<T> poison(size_t n) {
    if constexpr (std::is_floating_point_v<T>)
      return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
    else
      return std::vector<T>(n, T(0x7fff));
  }
  T* p() { return buf.data(); }
  std::vector<T> host() const {
    std::vector<T> h(buf.size());
    G().download(h.data(), buf.data(), h.size() * sizeof(T));
    return h;
  }
};

std::vector<float> random_floats(size_t n, uint64_t seed, double scale = 1.0) {
  std::vector<double> d = test::random_vector(n, seed, scale);
  return {d.begin(), d.end()};
}

// ||got - want|| / ||want|| <= tol, and every element finite (written).
void expect_rel(const std::vector<float>& want, const std::vector<float>& got, double tol,
                const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << "[" << i << "] was not written";
    diff += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    norm += static_cast<double>(want[i]) * want[i];
  }
  EXPECT_LE(std::sqrt(diff), tol * std::sqrt(norm) + 1e-30) << what;
}

uint64_t fresh_seed() {
  static std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) | rd();
}

}  // namespace

TEST(GpuKernels, MemoryOpsMoveBytesExactly) {
  const auto x = random_floats(1000, fresh_seed());
  DevBuf<float> a(x), b(1000), rows(10 * 7);
  EXPECT_EQ(a.host(), x);
  G().copy(b.p(), a.p(), 1000);
  EXPECT_EQ(b.host(), x);
  G().fill_zero(b.p(), 500);
  std::vector<float> want = x;
  std::fill(want.begin(), want.begin() + 500, 0.0f);
  EXPECT_EQ(b.host(), want);
  G().copy_rows(rows.p(), 7, a.p(), 100, 10, 7);  // column block of 10 rows
  std::vector<float> cpu_rows(70);
  C().copy_rows(cpu_rows.data(), 7, x.data(), 100, 10, 7);
  EXPECT_EQ(rows.host(), cpu_rows);
}

TEST(GpuKernels, EmbeddingForwardAndDeterministicBackwardMatchCpu) {
  // 485 rows: two tiles of the GPU's per-key walk, each id and type on many rows.
  const int B = 5, S = 97, H = 200, V = 11, pad = 0;  // H: two GPU column blocks, one partial
  const uint64_t seed = fresh_seed();
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::vector<int32_t> ids(B * S), types(B * S);
  for (auto& i : ids) i = static_cast<int32_t>(rng() % V);  // repeats and padding rows
  for (auto& t : types) t = static_cast<int32_t>(rng() % 2);
  const auto word = random_floats(V * H, seed + 1), pos = random_floats(S * H, seed + 2),
             type = random_floats(2 * H, seed + 3), dout = random_floats(B * S * H, seed + 4);
  std::vector<float> out(B * S * H);
  C().embedding_forward(out.data(), ids.data(), types.data(), word.data(), pos.data(), type.data(),
                        B, S, H);
  DevBuf<int32_t> gi(ids), gt(types);
  DevBuf<float> gw(word), gp(pos), gty(type), gout(B * S * H);
  G().embedding_forward(gout.p(), gi.p(), gt.p(), gw.p(), gp.p(), gty.p(), B, S, H);
  EXPECT_EQ(gout.host(), out);  // the same sums in the same order
  auto dw = random_floats(V * H, seed + 5), dp = random_floats(S * H, seed + 6),
       dt = random_floats(2 * H, seed + 7);  // accumulated into
  DevBuf<float> gdw(dw), gdp(dp), gdt(dt), gdout(dout);
  C().embedding_backward(dw.data(), dp.data(), dt.data(), dout.data(), ids.data(), types.data(), B,
                         S, H, pad);
  G().embedding_backward(gdw.p(), gdp.p(), gdt.p(), gdout.p(), gi.p(), gt.p(), B, S, H, pad);
  EXPECT_EQ(gdw.host(), dw);
  EXPECT_EQ(gdp.host(), dp);
  EXPECT_EQ(gdt.host(), dt);
}

TEST(GpuKernels, LayerNormForwardAndBackwardMatchCpu) {
  const int N = 37, Cn = 200;
  const uint64_t seed = fresh_seed();
  const auto x = random_floats(N * Cn, seed, 3.0), y = random_floats(N * Cn, seed + 1),
             gamma = random_floats(Cn, seed + 2), beta = random_floats(Cn, seed + 3),
             dout = random_floats(N * Cn, seed + 4);
  std::vector<float> out(N * Cn), sum(N * Cn), mean(N), rstd(N);
  C().add_layernorm_forward(out.data(), sum.data(), mean.data(), rstd.data(), x.data(), y.data(),
                            gamma.data(), beta.data(), N, Cn, 1e-12);
  DevBuf<float> gx(x), gy(y), gg(gamma), gb(beta), gout(N * Cn), gsum(N * Cn), gmean(N), grstd(N);
  G().add_layernorm_forward(gout.p(), gsum.p(), gmean.p(), grstd.p(), gx.p(), gy.p(), gg.p(),
                            gb.p(), N, Cn, 1e-12);
  expect_rel(sum, gsum.host(), 0, "sum");
  expect_rel(out, gout.host(), 1e-6, "out");
  expect_rel(mean, gmean.host(), 1e-6, "mean");
  expect_rel(rstd, grstd.host(), 1e-6, "rstd");
  C().layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(),
                        N, Cn, 1e-5);
  G().layernorm_forward(gout.p(), gmean.p(), grstd.p(), gx.p(), gg.p(), gb.p(), N, Cn, 1e-5);
  expect_rel(out, gout.host(), 1e-6, "plain out");
  auto dgamma = random_floats(Cn, seed + 5), dbeta = random_floats(Cn, seed + 6);
  DevBuf<float> gdg(dgamma), gdb(dbeta), gdout(dout), gdx(N * Cn), gm(mean), gr(rstd);
  std::vector<float> dx(N * Cn);
  C().layernorm_backward(dx.data(), dgamma.data(), dbeta.data(), dout.data(), x.data(), mean.data(),
                         rstd.data(), gamma.data(), N, Cn);
  G().layernorm_backward(gdx.p(), gdg.p(), gdb.p(), gdout.p(), gx.p(), gm.p(), gr.p(), gg.p(), N,
                         Cn);
  expect_rel(dx, gdx.host(), 1e-5, "dx");
  expect_rel(dgamma, gdg.host(), 1e-5, "dgamma");
  expect_rel(dbeta, gdb.host(), 1e-5, "dbeta");
}

TEST(GpuKernels, LinearForwardAndBackwardMatchCpuInFp32) {
  const int N = 45, in_f = 96, out_f = 80;
  const uint64_t seed = fresh_seed();
  const auto in = random_floats(N * in_f, seed), W = random_floats(out_f * in_f, seed + 1, 0.1),
             b = random_floats(out_f, seed + 2), dout = random_floats(N * out_f, seed + 3);
  std::vector<float> out(N * out_f);
  C().linear_forward(out.data(), in.data(), W.data(), b.data(), N, in_f, out_f);
  DevBuf<float> gin(in), gW(W), gb(b), gout(N * out_f), gdout(dout);
  G().linear_forward(gout.p(), gin.p(), gW.p(), gb.p(), N, in_f, out_f);
  // fp32 without TF32: only the summation order differs.
  expect_rel(out, gout.host(), 1e-6, "out");
  for (bool accumulate : {false, true}) {
    auto din = random_floats(N * in_f, seed + 4), dW = random_floats(out_f * in_f, seed + 5),
         db = random_floats(out_f, seed + 6);
    DevBuf<float> gdin(accumulate ? din : DevBuf<float>::poison(din.size())), gdW(dW), gdb(db);
    C().linear_backward(din.data(), dW.data(), db.data(), dout.data(), in.data(), W.data(), N, in_f,
                        out_f, accumulate);
    G().linear_backward(gdin.p(), gdW.p(), gdb.p(), gdout.p(), gin.p(), gW.p(), N, in_f, out_f,
                        accumulate);
    expect_rel(din, gdin.host(), 1e-6, "din");
    expect_rel(dW, gdW.host(), 1e-6, "dW");
    expect_rel(db, gdb.host(), 1e-6, "db");
  }
}

TEST(GpuKernels, ActivationsMatchCpu) {
  const int64_t n = 5000;
  const uint64_t seed = fresh_seed();
  const auto x = random_floats(n, seed, 3.0), dout = random_floats(n, seed + 1);
  DevBuf<float> gx(x), gdout(dout), gy(n), gdx(n);
  std::vector<float> y(n), dx(n);
  C().gelu_forward(y.data(), x.data(), n);
  G().gelu_forward(gy.p(), gx.p(), n);
  expect_rel(y, gy.host(), 1e-6, "gelu");
  C().gelu_backward(dx.data(), x.data(), dout.data(), n);
  G().gelu_backward(gdx.p(), gx.p(), gdout.p(), n);
  expect_rel(dx, gdx.host(), 1e-6, "gelu backward");
  C().tanh_forward(y.data(), x.data(), n);
  G().tanh_forward(gy.p(), gx.p(), n);
  expect_rel(y, gy.host(), 1e-6, "tanh");
  DevBuf<float> gyc(y);
  C().tanh_backward(dx.data(), y.data(), dout.data(), n);
  G().tanh_backward(gdx.p(), gyc.p(), gdout.p(), n);
  expect_rel(dx, gdx.host(), 1e-6, "tanh backward");
}

TEST(GpuKernels, CrossEntropyMatchesCpuWithIgnoredRowsAndLabelSmoothing) {
  const int N = 300, L = 5;  // more rows than the kernel's threads
  const uint64_t seed = fresh_seed();
  const auto z = random_floats(N * L, seed, 2.0);
  std::vector<int32_t> labels(N);
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (auto& l : labels) l = rng() % 7 == 0 ? -100 : static_cast<int32_t>(rng() % L);
  std::vector<float> probs(N * L), dz(N * L);
  double loss = 0;
  C().cross_entropy_forward(probs.data(), &loss, z.data(), labels.data(), N, L, 0.1);
  DevBuf<float> gz(z), gp(N * L), gdz(N * L);
  DevBuf<int32_t> gl(labels);
  DevBuf<double> gloss(std::vector<double>{std::nan("")});
  G().cross_entropy_forward(gp.p(), gloss.p(), gz.p(), gl.p(), N, L, 0.1);
  EXPECT_NEAR(gloss.host()[0], loss, 1e-6 * loss);
  expect_rel(probs, gp.host(), 1e-6, "probs");
  C().cross_entropy_backward(dz.data(), probs.data(), labels.data(), N, L, 0.5, 0.1);
  G().cross_entropy_backward(gdz.p(), gp.p(), gl.p(), N, L, 0.5, 0.1);
  expect_rel(dz, gdz.host(), 1e-6, "dlogits");
}

TEST(GpuKernels, RegressionAndMultiLabelLossesMatchCpu) {
  const int64_t n = 1000;  // more values than the forward kernels' threads
  const uint64_t seed = fresh_seed();
  const auto x = random_floats(n, seed, 3.0), y_real = random_floats(n, seed + 1, 2.0);
  std::vector<float> y_hot(n);
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (float& v : y_hot) v = static_cast<float>(rng() % 2);
  DevBuf<float> gx(x), gy(y_real), gh(y_hot), gp(n), gdx(n);
  DevBuf<double> gloss(std::vector<double>{std::nan("")});
  double loss = 0;
  std::vector<float> dx(n), probs(n);
  C().mse_forward(&loss, x.data(), y_real.data(), n);
  G().mse_forward(gloss.p(), gx.p(), gy.p(), n);
  EXPECT_NEAR(gloss.host()[0], loss, 1e-9 * loss) << "mse";
  C().mse_backward(dx.data(), x.data(), y_real.data(), n, 0.5);
  G().mse_backward(gdx.p(), gx.p(), gy.p(), n, 0.5);
  expect_rel(dx, gdx.host(), 1e-6, "mse dx");
  C().bce_forward(probs.data(), &loss, x.data(), y_hot.data(), n);
  G().bce_forward(gp.p(), gloss.p(), gx.p(), gh.p(), n);
  EXPECT_NEAR(gloss.host()[0], loss, 1e-9 * loss) << "bce";
  expect_rel(probs, gp.host(), 1e-6, "sigmoid");
  C().bce_backward(dx.data(), probs.data(), y_hot.data(), n, 0.5);
  G().bce_backward(gdx.p(), gp.p(), gh.p(), n, 0.5);
  expect_rel(dx, gdx.host(), 1e-6, "bce dx");
}

TEST(GpuKernels, IndexedRowsAndPairMeanMatchCpu) {
  const int rows = 300, cols = 70, n = 120;
  const auto src = random_floats(rows * cols, fresh_seed());
  std::vector<int32_t> index(rows);
  std::iota(index.begin(), index.end(), 0);
  std::shuffle(index.begin(), index.end(), std::mt19937(7));
  index.resize(n);  // distinct rows, in no order
  std::vector<float> gathered(n * cols), scattered(rows * cols, 0.0f);
  C().gather_rows(gathered.data(), src.data(), index.data(), n, cols);
  C().scatter_rows(scattered.data(), gathered.data(), index.data(), n, cols);
  DevBuf<float> gs(src), gg(gathered.size()), gsc(std::vector<float>(rows * cols, 0.0f));
  DevBuf<int32_t> gi(index);
  G().gather_rows(gg.p(), gs.p(), gi.p(), n, cols);
  G().scatter_rows(gsc.p(), gg.p(), gi.p(), n, cols);
  EXPECT_EQ(gg.host(), gathered);
  EXPECT_EQ(gsc.host(), scattered);
  DevBuf<double> pair(std::vector<double>{1.25, 2.5}), mean(std::vector<double>{0.0});
  G().mean_of_pair(mean.p(), pair.p());
  EXPECT_EQ(mean.host()[0], 1.875);
}

TEST(GpuKernels, DropoutDrawsTheCpuMasks) {
  const int B = 11;
  const int64_t per_sample = 9091, n = B * per_sample;
  const uint64_t seed = fresh_seed();
  const Dropout drop{0.1, seed, {3, 1}};  // the rows of rank 1 of 3
  const auto x = random_floats(n, seed);
  std::vector<float> y(n);
  C().dropout_apply(y.data(), x.data(), B, per_sample, drop);
  DevBuf<float> gx(x), gy(n);
  G().dropout_apply(gy.p(), gx.p(), B, per_sample, drop);
  EXPECT_EQ(gy.host(), y);
}

TEST(GpuKernels, SumOfSquaresMatchesCpu) {
  const int64_t n = 1234567;
  const auto x = random_floats(n, fresh_seed());
  double cpu = 0;
  C().sum_squares(&cpu, x.data(), n);
  DevBuf<float> gx(x);
  DevBuf<double> out(std::vector<double>{std::nan("")});
  G().sum_squares(out.p(), gx.p(), n);
  EXPECT_NEAR(out.host()[0], cpu, 1e-12 * cpu);
}

TEST(GpuKernels, HalfConversionsRoundLikeTheCpu) {
  const int64_t n = 4096;
  auto x = random_floats(n, fresh_seed(), 1e3);
  x[0] = 1e-6f;     // a half subnormal
  x[1] = 70000.0f;  // beyond half's range
  for (HalfFormat f : {HalfFormat::BF16, HalfFormat::FP16}) {
    std::vector<uint16_t> h(n);
    C().to_half(h.data(), x.data(), n, f);
    DevBuf<float> gx(x), gw(n);
    DevBuf<uint16_t> gh(n);
    G().to_half(gh.p(), gx.p(), n, f);
    EXPECT_EQ(gh.host(), h);
    std::vector<float> w(n);
    C().from_half(w.data(), h.data(), n, f);
    G().from_half(gw.p(), gh.p(), n, f);
    EXPECT_EQ(gw.host(), w);
  }
}

TEST(GpuKernels, AdamWMatchesCpuAndZeroesTheGradients) {
  const int64_t n = 10003;  // groups of four, and a tail of three
  const uint64_t seed = fresh_seed();
  auto p = random_floats(n, seed), g = random_floats(n, seed + 1), m = random_floats(n, seed + 2);
  auto v = random_floats(n, seed + 3);
  for (float& x : v) x = x * x;
  DevBuf<float> gp(p), gg(g), gm(m), gv(v);
  DevBuf<uint16_t> g16(n);
  const AdamWStep s{1e-3, 0.9, 0.999, 1e-8, 0.01, 7, 0.5};
  std::vector<uint16_t> p16(n);
  C().adamw_update(p.data(), g.data(), m.data(), v.data(), n, s, p16.data());
  G().adamw_update(gp.p(), gg.p(), gm.p(), gv.p(), n, s, g16.p());
  expect_rel(p, gp.host(), 1e-6, "params");
  expect_rel(m, gm.host(), 1e-6, "exp_avg");
  expect_rel(v, gv.host(), 1e-6, "exp_avg_sq");
  EXPECT_EQ(gg.host(), std::vector<float>(n, 0.0f));
  std::vector<uint16_t> want16(n);
  C().to_half(want16.data(), gp.host().data(), n, HalfFormat::BF16);
  EXPECT_EQ(g16.host(), want16);  // the copy is the updated parameter rounded
}

TEST(GpuKernels, AttentionForwardAndBackwardMatchCpuWithMaskAndDropout) {
  for (int S : {40, 64}) {  // rows that are and are not a multiple of the warp
    const int B = 2, nh = 4, D = 16, H = nh * D;
    const uint64_t seed = fresh_seed();
    const auto qkv = random_floats(B * S * 3 * H, seed), dctx = random_floats(B * S * H, seed + 1);
    std::vector<int32_t> mask(B * S, 1);
    for (int j = S - 7; j < S; ++j) mask[S + j] = 0;  // the second row is padded
    const Dropout p{0.1, seed, {3, 1}};
    std::vector<float> ctx(B * S * H), probs(static_cast<size_t>(B) * nh * S * S),
        dqkv(B * S * 3 * H);
    std::vector<float> scratch(cpu::attention_scratch_size(S, C().scratch_slots()));
    C().attention_forward(ctx.data(), probs.data(), qkv.data(), mask.data(), B, S, nh, D, p,
                          scratch.data());
    C().attention_backward(dqkv.data(), dctx.data(), qkv.data(), probs.data(), B, S, nh, D, p,
                           scratch.data());
    DevBuf<float> gq(qkv), gdc(dctx), gctx(ctx.size()), gp(probs.size()), gdq(dqkv.size()),
        gs(G().attention_scratch_size(S, G().scratch_slots()));
    DevBuf<int32_t> gm(mask);
    G().attention_forward(gctx.p(), gp.p(), gq.p(), gm.p(), B, S, nh, D, p, gs.p());
    G().attention_backward(gdq.p(), gdc.p(), gq.p(), gp.p(), B, S, nh, D, p, gs.p());
    expect_rel(probs, gp.host(), 1e-5, "probs S=" + std::to_string(S));
    expect_rel(ctx, gctx.host(), 1e-5, "ctx S=" + std::to_string(S));
    expect_rel(dqkv, gdq.host(), 1e-5, "dqkv S=" + std::to_string(S));
  }
}

// The bf16 path's kernels (Bf16Ops) against the CPU's. Where both round the same fp32 value to
// bf16 the results are equal; where the fp32 sums behind a rounding differ in order, they differ
// by at most one bf16 step (2^-8 relative) in a few elements.
namespace {

const Bf16Ops& G16() {
  return *gpu().bf16;
}
const Bf16Ops& C16() {
  return cpu_bf16_ops();
}

std::vector<uint16_t> to_bf16(const std::vector<float>& x) {
  std::vector<uint16_t> h(x.size());
  C().to_half(h.data(), x.data(), static_cast<int64_t>(x.size()), HalfFormat::BF16);
  return h;
}
std::vector<float> widen(const std::vector<uint16_t>& h) {
  std::vector<float> x(h.size());
  C().from_half(x.data(), h.data(), static_cast<int64_t>(h.size()), HalfFormat::BF16);
  return x;
}

// Every element within `steps` bf16 steps of the reference's magnitude scale. A step is
// |x| * 2^-8, between half and one unit in the last place.
void expect_bf16_close(const std::vector<uint16_t>& want, const std::vector<uint16_t>& got,
                       double steps, const std::string& what) {
  const std::vector<float> w = widen(want), g = widen(got);
  double scale = 0;
  for (float v : w) scale = std::max(scale, std::abs(static_cast<double>(v)));
  for (size_t i = 0; i < w.size(); ++i)
    ASSERT_NEAR(g[i], w[i], steps * std::ldexp(std::max(std::abs(w[i]), 1e-3f * float(scale)), -8))
        << what << "[" << i << "]";
}

// fp32 values that agree to rounding (another summation order) can round to neighbouring bf16
// values: one unit in the last place, which is up to 2 steps.
constexpr double kRoundingFlip = 2;

}  // namespace

TEST(GpuBf16, DenseLayersMatchTheCpuBf16Kernels) {
  const int N = 300, in_f = 96, out_f = 128;  // N: more rows than the column sums' lanes
  const uint64_t seed = fresh_seed();
  const auto in = to_bf16(random_floats(N * in_f, seed)),
             W = to_bf16(random_floats(out_f * in_f, seed + 1, 0.1));
  const auto b = random_floats(out_f, seed + 2), dout = random_floats(N * out_f, seed + 3);
  const auto dout16 = to_bf16(dout);
  std::vector<float> out(N * out_f);
  std::vector<uint16_t> out16(N * out_f);
  std::vector<std::byte> scratch(C16().linear_scratch_bytes(N, in_f, out_f));
  const GemmScratch cs{scratch.data(), scratch.size()};
  C16().linear_forward(out.data(), in.data(), W.data(), b.data(), N, in_f, out_f, cs);
  C16().linear_forward16(out16.data(), in.data(), W.data(), b.data(), N, in_f, out_f, cs);
  DevBuf<uint16_t> gin(in), gW(W), gout16(out16.size()), gdout16(dout16);
  DevBuf<float> gb(b), gout(out.size()), gdout(dout);
  DevBuf<std::byte> gscratch(G16().linear_scratch_bytes(N, in_f, out_f));
  const GemmScratch gs{gscratch.p(), G16().linear_scratch_bytes(N, in_f, out_f)};
  G16().linear_forward(gout.p(), gin.p(), gW.p(), gb.p(), N, in_f, out_f, gs);
  G16().linear_forward16(gout16.p(), gin.p(), gW.p(), gb.p(), N, in_f, out_f, gs);
  expect_rel(out, gout.host(), 1e-6, "bf16 linear out");
  expect_bf16_close(out16, gout16.host(), kRoundingFlip, "bf16 linear out16");
  auto din = random_floats(N * in_f, seed + 4), dW = random_floats(out_f * in_f, seed + 5),
       db = random_floats(out_f, seed + 6);
  DevBuf<float> gdin(din), gdW(dW), gdb(db);
  C16().linear_backward(din.data(), dW.data(), db.data(), dout.data(), dout16.data(), in.data(),
                        W.data(), N, in_f, out_f, true, cs);
  G16().linear_backward(gdin.p(), gdW.p(), gdb.p(), gdout.p(), gdout16.p(), gin.p(), gW.p(), N,
                        in_f, out_f, true, gs);
  expect_rel(din, gdin.host(), 1e-6, "bf16 din");
  expect_rel(dW, gdW.host(), 1e-6, "bf16 dW");
  expect_rel(db, gdb.host(), 1e-6, "bf16 db");
  std::vector<uint16_t> packed(N * out_f);
  auto sums = random_floats(out_f, seed + 7);
  DevBuf<uint16_t> gpacked(packed.size());
  DevBuf<float> gsums(sums);
  std::vector<float> partials(C16().column_sums_scratch_floats(N, out_f));
  C16().pack_column_sums(packed.data(), sums.data(), dout.data(), N, out_f, partials.data());
  DevBuf<float> gpartials(std::max<size_t>(1, G16().column_sums_scratch_floats(N, out_f)));
  G16().pack_column_sums(gpacked.p(), gsums.p(), gdout.p(), N, out_f, gpartials.p());
  EXPECT_EQ(gpacked.host(), packed);
  expect_rel(sums, gsums.host(), 1e-6, "column sums");
}

TEST(GpuBf16, LayerNormAndGeluMatchTheCpuBf16Kernels) {
  const int B = 3, S = 11, N = B * S, Cn = 160;
  const uint64_t seed = fresh_seed();
  const Dropout drop{0.1, seed, {3, 1}};
  const auto dense16 = to_bf16(random_floats(N * Cn, seed));
  const auto residual = random_floats(N * Cn, seed + 1), gamma = random_floats(Cn, seed + 2),
             beta = random_floats(Cn, seed + 3), dout = random_floats(N * Cn, seed + 4);
  std::vector<float> out(N * Cn), mean(N), rstd(N);
  std::vector<uint16_t> out16(N * Cn), sum16(N * Cn);
  C16().add_layernorm_forward(out.data(), out16.data(), sum16.data(), mean.data(), rstd.data(),
                              dense16.data(), drop, residual.data(), gamma.data(), beta.data(), B,
                              S, Cn, 1e-12);
  DevBuf<uint16_t> gd(dense16), go16(out16.size()), gs16(sum16.size());
  DevBuf<float> gr(residual), gg(gamma), gbeta(beta), gout(out.size()), gm(N), grs(N);
  G16().add_layernorm_forward(gout.p(), go16.p(), gs16.p(), gm.p(), grs.p(), gd.p(), drop, gr.p(),
                              gg.p(), gbeta.p(), B, S, Cn, 1e-12);
  EXPECT_EQ(gs16.host(), sum16);  // the same dropout draws and sums, rounded alike
  expect_bf16_close(out16, go16.host(), kRoundingFlip, "layernorm out16");
  expect_rel(mean, gm.host(), 1e-6, "mean");
  expect_rel(rstd, grs.host(), 1e-6, "rstd");
  auto dgamma = random_floats(Cn, seed + 5), dbeta = random_floats(Cn, seed + 6);
  std::vector<float> dx(N * Cn);
  DevBuf<float> gdg(dgamma), gdb(dbeta), gdout(dout), gdx(dx.size()), gmc(mean), grc(rstd);
  DevBuf<uint16_t> gsum16(sum16);
  C16().layernorm_backward(dx.data(), dgamma.data(), dbeta.data(), dout.data(), sum16.data(),
                           mean.data(), rstd.data(), gamma.data(), N, Cn);
  G16().layernorm_backward(gdx.p(), gdg.p(), gdb.p(), gdout.p(), gsum16.p(), gmc.p(), grc.p(),
                           gg.p(), N, Cn);
  expect_rel(dx, gdx.host(), 1e-5, "bf16 layernorm dx");
  expect_rel(dgamma, gdg.host(), 1e-5, "bf16 dgamma");
  expect_rel(dbeta, gdb.host(), 1e-5, "bf16 dbeta");
  const int64_t n = N * Cn;
  std::vector<uint16_t> y16(n), dx16(n);
  C16().gelu_forward(y16.data(), dense16.data(), n);
  DevBuf<uint16_t> gy16(n), gdx16(n);
  G16().gelu_forward(gy16.p(), gd.p(), n);
  expect_bf16_close(y16, gy16.host(), 1, "gelu bf16");
  std::vector<float> partials(C16().column_sums_scratch_floats(N, Cn));
  auto dbias = random_floats(Cn, seed + 7);
  DevBuf<float> gdbias(dbias);
  C16().gelu_backward(dx16.data(), dbias.data(), dense16.data(), dout.data(), N, Cn,
                      partials.data());
  DevBuf<float> gpartials(std::max<size_t>(1, G16().column_sums_scratch_floats(N, Cn)));
  G16().gelu_backward(gdx16.p(), gdbias.p(), gd.p(), gdout.p(), N, Cn, gpartials.p());
  expect_bf16_close(dx16, gdx16.host(), kRoundingFlip, "gelu bf16 backward dx16");
  expect_rel(dbias, gdbias.host(), 1e-5, "gelu bf16 backward bias gradient");
}

TEST(GpuBf16, AttentionMatchesTheCpuBf16Kernels) {
  // 10 batch rows: the GPU's chunks of 8 rows, the last one partial.
  const int B = 10, S = 48, nh = 4, D = 16, H = nh * D;
  const uint64_t seed = fresh_seed();
  const Dropout drop{0.1, seed, {3, 1}};
  const auto rows16 = to_bf16(random_floats(B * S * 3 * H, seed));
  const auto dctx = random_floats(B * S * H, seed + 1);
  std::vector<int32_t> mask(B * S, 1);
  for (int b = 0; b < B; ++b)
    for (int j = S - 3 * b; j < S; ++j) mask[b * S + j] = 0;  // row b pads 3b positions
  std::vector<uint16_t> qkv16(rows16.size()), ctx16(B * S * H),
      probs16(static_cast<size_t>(B) * nh * S * S);
  std::vector<float> dqkv(B * S * 3 * H);
  C16().qkv_to_heads(qkv16.data(), rows16.data(), B, S, nh, D);
  std::vector<std::byte> scratch(C16().attention_scratch_bytes(S, nh, D));
  C16().attention_forward(ctx16.data(), probs16.data(), qkv16.data(), mask.data(), B, S, nh, D,
                          drop, scratch.data());
  C16().attention_backward(dqkv.data(), dctx.data(), qkv16.data(), probs16.data(), B, S, nh, D,
                           drop, scratch.data());
  DevBuf<uint16_t> grows(rows16), gqkv(qkv16.size()), gctx(ctx16.size()), gp(probs16.size());
  DevBuf<int32_t> gm(mask);
  DevBuf<float> gdctx(dctx), gdqkv(dqkv.size());
  DevBuf<std::byte> gs(G16().attention_scratch_bytes(S, nh, D));
  G16().qkv_to_heads(gqkv.p(), grows.p(), B, S, nh, D);
  EXPECT_EQ(gqkv.host(), qkv16);
  G16().attention_forward(gctx.p(), gp.p(), gqkv.p(), gm.p(), B, S, nh, D, drop, gs.p());
  G16().attention_backward(gdqkv.p(), gdctx.p(), gqkv.p(), gp.p(), B, S, nh, D, drop, gs.p());
  expect_bf16_close(probs16, gp.host(), 2, "bf16 probabilities");
  expect_rel(widen(ctx16), widen(gctx.host()), 1e-2, "bf16 context");
  expect_rel(dqkv, gdqkv.host(), 2e-2, "bf16 dqkv");
}

TEST(GpuKernels, MemoryEfficientAttentionMatchesCpuWithMaskAndDropout) {
  for (int S : {40, 130}) {  // one query block; three, the last one partial
    const int B = 2, nh = 3, D = 16, H = nh * D;
    const uint64_t seed = fresh_seed();
    const auto qkv = random_floats(B * S * 3 * H, seed), dctx = random_floats(B * S * H, seed + 1);
    std::vector<int32_t> mask(B * S, 1);
    for (int j = S - 9; j < S; ++j) mask[S + j] = 0;
    const Dropout p{0.1, seed, {3, 1}};
    std::vector<float> ctx(B * S * H), lse(B * nh * S), dqkv(B * S * 3 * H);
    std::vector<float> scratch(C().attention_blockwise_scratch_size(S, C().scratch_slots()));
    C().attention_forward_blockwise(ctx.data(), lse.data(), qkv.data(), mask.data(), B, S, nh, D, p,
                                    scratch.data());
    C().attention_backward_blockwise(dqkv.data(), dctx.data(), qkv.data(), lse.data(), mask.data(),
                                     B, S, nh, D, p, scratch.data());
    DevBuf<float> gq(qkv), gdc(dctx), gctx(ctx.size()), gl(lse.size()), gdq(dqkv.size()),
        gs(G().attention_blockwise_scratch_size(S, G().scratch_slots()));
    DevBuf<int32_t> gm(mask);
    G().attention_forward_blockwise(gctx.p(), gl.p(), gq.p(), gm.p(), B, S, nh, D, p, gs.p());
    G().attention_backward_blockwise(gdq.p(), gdc.p(), gq.p(), gl.p(), gm.p(), B, S, nh, D, p,
                                     gs.p());
    expect_rel(lse, gl.host(), 1e-6, "lse S=" + std::to_string(S));
    expect_rel(ctx, gctx.host(), 1e-5, "ctx S=" + std::to_string(S));
    expect_rel(dqkv, gdq.host(), 1e-5, "dqkv S=" + std::to_string(S));
  }
}

TEST(GpuModel, EveryDeviceByteIsCountedAsPlanned) {
  BertConfig c = preset_config("tiny");
  Bert<float> m(c, gpu());
  const Allocator& a = *gpu().allocator;
  const size_t before =
      a.allocated(MemCategory::Activations) + a.allocated(MemCategory::Temporaries);
  m.reserve(4, 32);
  ActivationPlan plan = decltype(m)::plan(gpu(), c, 4, 32);
  EXPECT_EQ(a.allocated(MemCategory::Activations) + a.allocated(MemCategory::Temporaries) - before,
            plan.activations + plan.temporaries -
                Allocator::charged_size((1 + decltype(m)::kStepLosses) * sizeof(double)));
}

TEST(GpuGolden, ForwardMatchesHuggingFace) {
  test::check_golden_forward(gpu());
}
TEST(GpuGolden, GradientsMatchHuggingFace) {
  test::check_golden_gradients(gpu());
}
TEST(GpuGolden, TrajectoryMatchesHuggingFaceTrainer) {
  test::check_golden_trajectory(gpu(), "trajectory", "final", 1.0);
}
TEST(GpuGolden, ClippedTrajectoryMatchesHuggingFaceTrainer) {
  test::BertTinyFixture fx;
  test::check_golden_trajectory(gpu(), "trajectory_clip", "final_clip",
                                fx.values("trajectory_clip.max_grad_norm")[0]);
}

TEST(GpuGolden, EveryHeadMatchesHuggingFace) {
  for (std::string head :
       {"regression", "multi_label", "mlm", "token_classification", "question_answering"}) {
    const std::string dir = "bert_tiny_heads/" + head;
    test::check_golden_forward(gpu(), dir);
    test::check_golden_gradients(gpu(), dir);
    test::check_golden_trajectory(gpu(), "trajectory", "final", 1.0, single_process(), dir);
  }
}

// bf16 on the GPU tracks its fp32 trajectory within the CPU's stated mixed-precision tolerance
// (MixedPrecision.Bf16TracksTheFp32Trajectory: 2e-3 on the losses).
TEST(GpuMixedPrecision, Bf16TracksTheFp32Trajectory) {
  test::BertTinyFixture fx;
  auto run = [&](Precision p) {
    auto m = fx.model(gpu());
    m->set_precision(p);
    std::vector<Batch> micro = {fx.rows(0, fx.B / 2), fx.rows(fx.B / 2, fx.B / 2)};
    AdamW<float> opt(m->layout(), {5e-4, 0.9, 0.999, 1e-8, 0.01}, gpu());
    LrSchedule sched{ScheduleType::Linear, 5e-4, 0, 6};
    std::vector<double> losses;
    for (int s = 0; s < 6; ++s) losses.push_back(train_step(*m, opt, sched, micro, 1.0, 42).loss);
    return losses;
  };
  const std::vector<double> fp32 = run(Precision::FP32), bf16 = run(Precision::BF16);
  double worst = 0;
  for (size_t s = 0; s < fp32.size(); ++s) worst = std::max(worst, std::abs(bf16[s] - fp32[s]));
  std::printf("GPU bf16: largest loss deviation from fp32 over 6 steps: %.3g\n", worst);
  EXPECT_LT(worst, 2e-3);
  EXPECT_GT(worst, 0.0);
}

// A run on the GPU stopped at a checkpoint and resumed ends bit-identical to the run that went
// straight through (dropout on, so the masks' seeds must line up too).
TEST(GpuTrainer, ResumeIsBitIdentical) {
  BertConfig c = preset_config("tiny");
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.1;
  const std::string model = test::temp_dir("gpu_resume_model");
  Bert<float> init(c);
  init_weights(init, 7);
  save_pretrained(init, model);
  TrainingArguments full;
  full.model = model;
  full.dummy = true;
  full.dummy_size = 64;
  full.dummy_seq_len = 32;
  full.per_device_train_batch_size = 8;
  full.max_steps = 6;
  full.save_steps = 3;
  full.logging_steps = 1;
  full.device = gpu().name() == "cpu" ? "cpu" : "cuda";  // cpu: a dry run
  full.disable_tqdm = true;
  full.output_dir = test::temp_dir("gpu_resume_full");
  run_training(full);
  TrainingArguments part = full;
  part.output_dir = test::temp_dir("gpu_resume_part");
  std::filesystem::copy(full.output_dir + "/checkpoint-3", part.output_dir + "/checkpoint-3",
                        std::filesystem::copy_options::recursive);
  part.resume_from_checkpoint = "latest";
  run_training(part);
  EXPECT_EQ(test::read_file(part.output_dir + "/model.safetensors"),
            test::read_file(full.output_dir + "/model.safetensors"));
}
