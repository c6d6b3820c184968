#include "train/memory_model.h"

#include <algorithm>

#include "data/loader.h"
#include "device/cuda_device.h"
#include "dist/shard.h"
#include "model/bert.h"
#include "model/param_layout.h"

namespace bertrain {

MemoryEstimate estimate_memory(const MemoryQuery& q) {
  MemoryEstimate e;
  auto at = [&](MemCategory c) -> size_t& { return e.bytes[static_cast<size_t>(c)]; };
  const size_t params = ParamLayout(q.config).total();
  const size_t flat = Allocator::charged_size(params * sizeof(float));
  at(MemCategory::Weights) = flat;
  if (q.precision != Precision::FP32)  // the 16-bit copy of the weights
    at(MemCategory::Weights) += Allocator::charged_size(params * sizeof(uint16_t));
  if (q.training) {
    at(MemCategory::Gradients) = flat;
    // AdamW exp_avg and exp_avg_sq, of rank 0's piece under ZeRO-1 (the largest)
    const size_t state =
        q.zero_stage == 1 && q.world_size > 1 ? shard_of(params, 0, q.world_size).size() : params;
    at(MemCategory::OptimizerState) = 2 * Allocator::charged_size(state * sizeof(float));
  } else {
    at(MemCategory::Gradients) = Allocator::charged_size(1);  // the empty gradient buffer
  }
  // The model plans for the largest batch it has seen (training and evaluation).
  const int B = std::max(q.batch, q.eval_batch);
  ActivationPlan p = Bert<float>::plan(
      q.device, q.config, B, q.seq,
      {q.checkpointing || !q.training, q.attention, q.precision, q.mlm_probability});
  at(MemCategory::Activations) = p.activations;
  at(MemCategory::Temporaries) = p.temporaries;
  // Batches alive at once (an upper bound): the accumulation window, the prefetch window
  // and one being replaced; during evaluation, its prefetch window, the batch in use and the
  // one replacing it, while training batches prefetched before a max_steps stop linger.
  // The batches live in host memory: they count only where the device's memory is the host's
  // (on a GPU they are uploaded into the model's own planned buffers).
  const size_t prefetch = static_cast<size_t>(q.workers) * q.prefetch_per_worker;
  const bool mlm = q.config.task == Task::MaskedLM;
  const int ids = class_ids_per_row(q.config.task, q.seq);
  const int width =  // float labels a row (regression, multi-label)
      mlm || q.config.problem() == ProblemType::SingleLabel ? 0 : q.config.num_labels();
  if (q.device.host_visible()) {
    at(MemCategory::Data) =
        (q.accumulation + prefetch + 1) * HostBatch::bytes(q.batch, q.seq, width, ids);
    if (q.eval_batch)
      at(MemCategory::Data) += (prefetch + 2) * HostBatch::bytes(q.eval_batch, q.seq, width, ids);
  }
  for (size_t b : e.bytes) e.peak += b;

  const size_t s = q.seq, b = q.batch, h = q.config.hidden_size, a = q.config.num_attention_heads;
  e.korthikanti_fp32 = 2 * q.config.num_hidden_layers * s * b * h * (34 + 5 * a * s / h);
  const MemoryOptions plain{false, q.attention};
  ActivationPlan one = Bert<float>::plan(q.device, q.config, q.batch, q.seq, plain);
  BertConfig no_layers = q.config;
  no_layers.num_hidden_layers = 1;
  ActivationPlan base = Bert<float>::plan(q.device, no_layers, q.batch, q.seq, plain);
  if (q.config.num_hidden_layers > 1)
    e.per_layer_activations =
        (one.activations - base.activations) / (q.config.num_hidden_layers - 1);
  return e;
}

int largest_fitting_batch(MemoryQuery q, size_t limit, int max_batch) {
  auto fits = [&](int b) {
    q.batch = b;
    return estimate_memory(q).peak <= limit;
  };
  if (!fits(1)) return 0;
  int lo = 1, hi = 2;  // fits(lo); grow hi until it does not fit
  while (hi <= max_batch && fits(hi)) {
    lo = hi;
    hi *= 2;
  }
  hi = std::min(hi, max_batch + 1);
  while (hi - lo > 1) {
    int mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

MemoryQuery memory_query(const TrainingArguments& a, const BertConfig& config) {
  MemoryQuery q;
  q.config = config;
  q.device = device_named(a.device);
  q.batch = a.per_device_train_batch_size;
  q.seq = a.dummy ? a.dummy_seq_len : a.max_seq_length;
  q.accumulation = a.gradient_accumulation_steps;
  q.eval_batch = a.eval_file.empty() ? 0 : a.per_device_eval_batch_size;
  q.workers = a.dataloader_num_workers;
  q.checkpointing = a.gradient_checkpointing;
  q.attention = parse_attention_mode(a.attention);
  q.precision = precision_of(a);
  q.zero_stage = a.zero_stage;
  if (config.task == Task::MaskedLM) q.mlm_probability = a.mlm_probability;
  return q;
}

}  // namespace bertrain
