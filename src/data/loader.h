// Batches from a tokenized dataset: seeded shuffle per epoch, padding to max_length or to the
// longest row of the batch, optional grouping by length (HF group_by_length), drop_last, and
// prefetching on background threads so the trainer does not wait for data.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/batch.h"
#include "core/buffer.h"
#include "data/dataset.h"
#include "data/mlm_data.h"

namespace bertrain {

struct LoaderOptions {
  int batch_size = 8;
  bool shuffle = true;
  uint64_t seed = 42;
  bool pad_to_max_length = false;  // else pad to the longest row of each batch
  int max_length = 512;            // with pad_to_max_length
  bool group_by_length = false;
  bool drop_last = false;
  int num_workers = 0;  // background threads preparing batches; 0: prepared on demand
  int prefetch_per_worker = 2;
  int pad_id = 0;
  // Data parallel: this rank's shard of each epoch's order, as torch's DistributedSampler
  // takes it (the global order padded by repeating its start to a multiple of world, then
  // every world-th example from rank). Without pad_shards (evaluation) the shards are not
  // padded: each example is evaluated once, some ranks get one fewer.
  int rank = 0, world = 1;
  bool pad_shards = true;
  // Masked LM: each batch's rows masked (mlm_data.h), labels per position [B, S].
  const MlmMasking* mlm = nullptr;
};

// What the model is taught per example: class ids (-100: no label), or float targets
// [examples, width] (regression: width 1; multi-label: multi-hot over width labels).
// Or, for token classification, a class id per token (aligned with the dataset's ids); for
// question answering, the answer's (start, end) token per example.
struct ExampleLabels {
  std::vector<int32_t> class_ids;
  std::vector<float> targets;
  int width = 0;  // 0: class ids
  std::vector<int32_t> token_labels;
  std::vector<int32_t> spans;
  static ExampleLabels classes(std::vector<int32_t> ids) { return {std::move(ids), {}, 0, {}, {}}; }
  static ExampleLabels per_token(std::vector<int32_t> labels) {
    return {{}, {}, 0, std::move(labels), {}};
  }
  static ExampleLabels answer_spans(std::vector<int32_t> spans) {
    return {{}, {}, 0, {}, std::move(spans)};
  }
  // Class ids a batch row carries: 1, 2 (a span), or S (one per position).
  int ids_per_row(int S) const { return !token_labels.empty() ? S : !spans.empty() ? 2 : 1; }
};

// One padded batch. Its arrays live in one counted allocation (category data); the spans
// stay valid when the batch is moved.
struct HostBatch {
  Buffer<std::byte> storage;
  std::span<int32_t> ids, types, mask, labels;
  std::span<float> targets;  // [B, width] float labels; empty with class ids
  int B = 0, S = 0;
  SampleRows rows;          // this rank's rows of the global batch
  int64_t real_tokens = 0;  // tokens that are not padding
  Batch view() const {
    Batch b{ids.data(), types.data(), mask.data(), labels.data(), B, S, rows};
    if (!targets.empty()) {
      b.labels = nullptr;
      b.targets = targets.data();
    }
    return b;
  }
  // The storage of a B x S batch with `width` float labels a row (0: class ids), and
  // `ids_per_row` class ids a row (1; 2 for an answer span; S for one per position).
  static size_t bytes(int B, int S, int width = 0, int ids_per_row = 1) {
    const size_t labels = size_t(B) * ids_per_row;
    return Allocator::charged_size((3 * size_t(B) * S + labels + size_t(B) * width) * 4);
  }
};

// The order of example indices for one epoch, this rank's shard of it (exposed for tests).
std::vector<size_t> epoch_order(const TokenizedDataset& d, const LoaderOptions& o, int epoch);

class DataLoader {
 public:
  DataLoader(const TokenizedDataset& data, ExampleLabels labels, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  size_t batches_per_epoch() const;
  // Starts an epoch (stops any running one); `skip` batches are not produced (resume).
  void start_epoch(int epoch, size_t skip = 0);
  // The next batch of the epoch, or false at its end. Time spent waiting is measured.
  bool next(HostBatch& out);
  double wait_seconds() const { return wait_seconds_; }
  // The examples of the epoch started last, this rank's, in the order its batches hold them.
  const std::vector<size_t>& epoch_examples() const { return order_; }

  HostBatch make_batch(const std::vector<size_t>& order, size_t batch_index) const;

 private:
  void stop_workers();
  void worker_loop();

  const TokenizedDataset& data_;
  ExampleLabels labels_;
  LoaderOptions o_;
  std::vector<size_t> order_;
  size_t num_batches_ = 0, next_to_take_ = 0, next_to_make_ = 0;
  int epoch_ = 0;
  double wait_seconds_ = 0;

  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::map<size_t, HostBatch> done_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace bertrain
