#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;

// One block: each thread takes rows r = tid, tid + 256, ...; the losses and counts are summed
// in a fixed tree order (deterministic). The rows are few (a batch) and short (the labels).
__global__ void cross_entropy_forward_kernel(float* probs, double* loss, const float* logits,
                                             const int32_t* labels, int N, int L,
                                             double smoothing) {
  __shared__ double sums[kThreads];
  __shared__ int counts[kThreads];
  double total = 0;
  int count = 0;
  for (int r = threadIdx.x; r < N; r += kThreads) {
    const float* z = logits + static_cast<int64_t>(r) * L;
    float* p = probs + static_cast<int64_t>(r) * L;
    float mx = z[0];
    for (int c = 1; c < L; ++c) mx = fmaxf(mx, z[c]);
    float sum = 0;
    for (int c = 0; c < L; ++c) {
      p[c] = expf(z[c] - mx);
      sum += p[c];
    }
    for (int c = 0; c < L; ++c) p[c] /= sum;
    if (!labels || labels[r] == -100) continue;
    const double log_sum = logf(sum);
    const double nll = log_sum - static_cast<double>(z[labels[r]] - mx);
    double all = 0;
    if (smoothing != 0)
      for (int c = 0; c < L; ++c) all += log_sum - static_cast<double>(z[c] - mx);
    total += (1 - smoothing) * nll + smoothing * all / L;
    ++count;
  }
  sums[threadIdx.x] = total;
  counts[threadIdx.x] = count;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      sums[threadIdx.x] += sums[threadIdx.x + stride];
      counts[threadIdx.x] += counts[threadIdx.x + stride];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *loss = counts[0] ? sums[0] / counts[0] : 0.0;
}

// One block (a batch's rows): count the labelled rows, then write every gradient.
__global__ void cross_entropy_backward_kernel(float* dlogits, const float* probs,
                                              const int32_t* labels, int N, int L, double scale,
                                              double smoothing) {
  __shared__ int counts[kThreads];
  int c = 0;
  for (int r = threadIdx.x; r < N; r += kThreads) c += labels[r] != -100;
  counts[threadIdx.x] = c;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) counts[threadIdx.x] += counts[threadIdx.x + stride];
    __syncthreads();
  }
  const float k = counts[0] ? static_cast<float>(scale / counts[0]) : 0.0f;
  const float on = static_cast<float>(1 - smoothing), spread = static_cast<float>(smoothing / L);
  for (int64_t i = threadIdx.x; i < static_cast<int64_t>(N) * L; i += kThreads) {
    const int r = static_cast<int>(i / L), col = static_cast<int>(i % L);
    dlogits[i] =
        labels[r] == -100 ? 0.0f : (probs[i] - (col == labels[r] ? on : 0.0f) - spread) * k;
  }
}

}  // namespace

void cross_entropy_forward(float* probs, double* loss, const float* logits, const int32_t* labels,
                           int N, int L, double smoothing) {
  cross_entropy_forward_kernel<<<1, kThreads, 0, stream()>>>(probs, loss, logits, labels, N, L,
                                                             smoothing);
  check_launch("cross_entropy_forward");
}

void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* labels, int N, int L,
                            double scale, double smoothing) {
  cross_entropy_backward_kernel<<<1, kThreads, 0, stream()>>>(dlogits, probs, labels, N, L, scale,
                                                              smoothing);
  check_launch("cross_entropy_backward");
}

}  // namespace bertrain::cuda
