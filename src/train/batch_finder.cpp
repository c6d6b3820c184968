#include "train/batch_finder.h"

#include <random>

#include "core/buffer.h"
#include "data/loader.h"
#include "model/bert.h"
#include "train/train_step.h"

namespace bertrain {

BatchTrial try_batch(const MemoryQuery& q, size_t limit, int steps) {
  BatchTrial t{q.batch, false, estimate_memory(q).peak, 0, ""};
  // The trial's own accounts over the query's device memory, with the limit.
  Allocator alloc(q.device.name(), limit, q.device.allocator->raw());
  Device device = q.device;
  device.allocator = &alloc;
  try {
    Bert<float> model(q.config, device);
    model.set_gradient_checkpointing(q.checkpointing);
    model.set_attention_mode(q.attention);
    model.set_precision(q.precision);
    const bool mlm = q.config.task == Task::MaskedLM;
    if (mlm) model.set_mlm_probability(q.mlm_probability);
    AdamW<float> opt(model.layout(), {}, device);
    const size_t batch_bytes = estimate_memory(q).bytes[static_cast<size_t>(MemCategory::Data)];
    Buffer<std::byte> batches(batch_bytes, MemCategory::Data, "batches in flight", alloc);
    model.reserve(q.batch, q.seq);
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> id(100,
                                          std::max(101, std::min(30000, q.config.vocab_size) - 1));
    std::uniform_int_distribution<int> label(0, q.config.num_labels() - 1), position(0, q.seq - 1);
    const size_t n = static_cast<size_t>(q.batch) * q.seq;
    // The labels each head reads: a class per position (masked LM, token classification), an
    // answer span per row (question answering), a class or float targets per row.
    const Task task = q.config.task;
    const size_t label_count = size_t(q.batch) * class_ids_per_row(task, q.seq);
    std::vector<int32_t> ids(n), types(n, 0), mask(n, 1), labels(label_count, -100);
    for (int32_t& x : ids) x = id(rng);
    if (mlm)  // as many positions labelled as the decoder is planned for: its largest batch
      std::copy_n(ids.begin(), mlm_decoder_rows(q.batch, q.seq, q.mlm_probability), labels.begin());
    else if (task == Task::QuestionAnswering)
      for (int32_t& y : labels) y = position(rng);
    else
      for (int32_t& y : labels) y = label(rng);
    Batch b{ids.data(), types.data(), mask.data(), labels.data(), q.batch, q.seq};
    std::vector<float> targets;  // regression and multi-label take float targets per row
    if (task == Task::SequenceClassification && q.config.problem() != ProblemType::SingleLabel) {
      for (int32_t y : labels) targets.push_back(static_cast<float>(y % 2));
      targets.resize(static_cast<size_t>(q.batch) * q.config.num_labels(), 0.0f);
      b.labels = nullptr;
      b.targets = targets.data();
    }
    LrSchedule sched{ScheduleType::Constant, 1e-5, 0, 1};
    for (int s = 0; s < steps; ++s) train_step(model, opt, sched, {&b, 1}, 1.0, 1);
    t.fits = true;
  } catch (const OutOfMemoryError& e) {
    t.error = e.what();
  }
  t.measured_peak_bytes = alloc.peak();
  return t;
}

BatchSearch find_batch_size(const MemoryQuery& q, size_t limit, int steps, int max_batch) {
  BatchSearch s;
  MemoryQuery probe = q;
  auto trial = [&](int b) {
    probe.batch = b;
    s.trials.push_back(try_batch(probe, limit, steps));
    return s.trials.back().fits;
  };
  const int predicted = largest_fitting_batch(q, limit, max_batch);
  // Invariant of the search: lo fits (or is 0), hi does not (or is past max_batch).
  int lo = 0, hi = max_batch + 1;
  int first = std::max(predicted, 1);
  if (trial(first)) {
    lo = first;
    if (first + 1 <= max_batch && trial(first + 1)) {  // the prediction was pessimistic
      lo = first + 1;
      int step = 2;
      while (lo + step <= max_batch && trial(lo + step)) {
        lo += step;
        step *= 2;
      }
      hi = std::min(lo + step, max_batch + 1);
    } else {
      hi = first + 1;
    }
  } else {
    hi = first;
  }
  while (hi - lo > 1) {
    int mid = lo + (hi - lo) / 2;
    (trial(mid) ? lo : hi) = mid;
  }
  s.batch = lo;
  return s;
}

}  // namespace bertrain
