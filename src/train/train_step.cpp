#include "train/train_step.h"

#include <chrono>
#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "core/timing.h"
#include "dist/grad_buckets.h"

namespace bertrain {

uint64_t dropout_seed(uint64_t seed, int64_t step, int micro_batch) {
  uint64_t z = seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(step) * 0xbf58476d1ce4e5b9ull +
               static_cast<uint64_t>(micro_batch) * 0x94d049bb133111ebull;
  return z ^ (z >> 29);
}

namespace {

// The gradients summed over the ranks, in place (through a host copy where the device's memory
// is not host memory).
template <typename T>
void sum_over_ranks(Comm& comm, Bert<T>& model) {
  const Device& d = model.device();
  T* grads = model.grads();
  const size_t n = model.num_params();
  if (d.host_visible()) return comm.allreduce_sum(grads, n);
  std::vector<T> host(n);
  d.ops<T>().download(host.data(), grads, n * sizeof(T));
  comm.allreduce_sum(host.data(), n);
  d.ops<T>().upload(grads, host.data(), n * sizeof(T));
}

// The last micro-batch's backward with the gradients' sum over the ranks started bucket by
// bucket as backward finishes them, and waited for at the end. Returns the time blocked in that
// wait.
double backward_with_buckets(Bert<float>& model, double loss_scale, Comm& comm,
                             size_t bucket_bytes) {
  GradBuckets buckets(comm, model.grads(), model.num_params(), model.grads_ready_offsets(),
                      bucket_bytes);
  model.set_grads_ready_hook([&](size_t from) { buckets.ready(from); });
  try {
    model.backward(loss_scale);
  } catch (...) {
    model.set_grads_ready_hook({});
    throw;
  }
  model.set_grads_ready_hook({});
  const auto t0 = std::chrono::steady_clock::now();
  buckets.finish();
  return seconds_since(t0);
}

}  // namespace

template <typename T>
StepResult train_step(Bert<T>& model, AdamW<T>& optimizer, const LrSchedule& schedule,
                      std::span<const Batch> micro_batches, double max_grad_norm, uint64_t seed,
                      GradScaler* scaler, Comm* comm, size_t bucket_bytes) {
  if (micro_batches.empty()) fail("train_step needs at least one micro-batch");
  // As HF Trainer with torch's GradScaler: a skipped step advances the trainer's step (and so
  // the dropout seed) but not the optimizer's or the LR schedule's.
  const int64_t step = optimizer.steps();
  const int64_t global_step = step + (scaler ? scaler->skipped_steps : 0);
  const double K = static_cast<double>(micro_batches.size());
  const int ranks = comm ? comm->size() : 1;
  const double loss_scale = scaler ? scaler->scale : 1.0;
  StepResult r{};
  model.zero_grads();
  // The losses and the gradient norm stay in device scalars until one read after backward
  // (a window of more than kStepLosses micro-batches reads its losses as the slots fill).
  const Ops<T>& ops = model.device().template ops<T>();
  double* scalars = model.step_scalars();
  constexpr int kSlots = Bert<T>::kStepLosses;
  const int n = static_cast<int>(micro_batches.size());
  std::vector<double> host(1 + kSlots);
  auto read_losses = [&](int count, bool with_norm) {
    const int first = with_norm ? 0 : 1;
    ops.download(host.data() + first, scalars + first, (1 + count - first) * sizeof(double));
    for (int i = 1; i <= count; ++i) r.microbatch_losses.push_back(host[i]);
  };
  // ZeRO-1: each rank sums only its shard of the gradients over the ranks, updates that shard's
  // parameters, and the ranks then exchange the updated pieces.
  const bool zero1 = optimizer.sharded();
  const Shard shard = optimizer.shard();
  if (zero1 && (ranks < 2 || !model.device().host_visible()))
    fail("ZeRO-1: the optimizer state is sharded, which needs several ranks on the CPU");
  const bool buckets = std::is_same_v<T, float> && ranks > 1 && !zero1 && bucket_bytes > 0 &&
                       model.device().host_visible();
  for (int k = 0; k < n; ++k) {
    if (k > 0 && k % kSlots == 0) read_losses(kSlots, false);
    model.forward(micro_batches[k], /*training=*/true, dropout_seed(seed, global_step, k),
                  scalars + 1 + k % kSlots);
    const double scale = loss_scale / (K * ranks);  // summed over the ranks: the mean
    if constexpr (std::is_same_v<T, float>) {
      // Within the window only the last backward all-reduces (DDP's no_sync before it).
      if (buckets && k == n - 1) {
        r.comm_wait_seconds += backward_with_buckets(model, scale, *comm, bucket_bytes);
        continue;
      }
    }
    model.backward(scale);
  }
  const auto t_sum = std::chrono::steady_clock::now();
  if (zero1)
    comm->reduce_scatter_sum(model.grads(), model.num_params());
  else if (ranks > 1 && !buckets)
    sum_over_ranks(*comm, model);
  r.comm_wait_seconds += seconds_since(t_sum);
  ops.sum_squares(scalars, model.grads() + shard.begin, static_cast<int64_t>(shard.size()));
  read_losses(n - (n - 1) / kSlots * kSlots, true);
  if (zero1) comm->allreduce_sum(host.data(), 1);  // the shards' sums of squares
  if (ranks > 1) {  // each micro-batch's loss as the mean over the ranks, as HF logs it
    comm->allreduce_sum(r.microbatch_losses.data(), r.microbatch_losses.size());
    for (double& loss : r.microbatch_losses) loss /= ranks;
  }
  for (double loss : r.microbatch_losses) r.loss += loss / K;
  // The norm of the unscaled gradients; clipping and AdamW see gradients / loss_scale.
  r.grad_norm = std::sqrt(host[0]) / loss_scale;
  r.lr = schedule.lr(step);
  if (scaler && !scaler->update(!std::isfinite(r.grad_norm))) {
    r.skipped = true;
    return r;
  }
  uint16_t* bf16_copy = nullptr;
  if constexpr (std::is_same_v<T, float>) bf16_copy = model.bf16_params();
  optimizer.step(model.params(), model.grads(), r.lr,
                 clip_coefficient(r.grad_norm, max_grad_norm) / loss_scale, bf16_copy);
  if (zero1) {
    const auto t_gather = std::chrono::steady_clock::now();
    comm->allgather(model.params(), model.num_params());
    if (bf16_copy) comm->allgather(bf16_copy, model.num_params());
    r.comm_wait_seconds += seconds_since(t_gather);
  }
  if (bf16_copy) model.half_params_refreshed();  // written by the same pass
  // The gradients were zeroed as they were read; under ZeRO-1 only the shard's were read (the
  // rest holds this rank's own sums: the next zero_grads clears them).
  if (!zero1) model.grads_zeroed();
  return r;
}

template StepResult train_step<float>(Bert<float>&, AdamW<float>&, const LrSchedule&,
                                      std::span<const Batch>, double, uint64_t, GradScaler*, Comm*,
                                      size_t);
template StepResult train_step<double>(Bert<double>&, AdamW<double>&, const LrSchedule&,
                                       std::span<const Batch>, double, uint64_t, GradScaler*, Comm*,
                                       size_t);

}  // namespace bertrain
