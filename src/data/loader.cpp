#include "data/loader.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "core/error.h"
#include "core/timing.h"

namespace bertrain {

namespace {

// Fisher-Yates with our own draw, so the order is the same on every standard library.
void shuffle(std::vector<size_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

// The length of the order the shards are taken from: n, or with pad_shards n padded to a
// multiple of the world.
size_t sharded_length(size_t n, const LoaderOptions& o) {
  const size_t world = static_cast<size_t>(std::max(1, o.world));
  return o.pad_shards ? (n + world - 1) / world * world : n;
}

// This rank's share of an order of n: positions rank, rank + world, ... of the sharded length.
size_t shard_size(size_t n, const LoaderOptions& o) {
  const size_t world = static_cast<size_t>(std::max(1, o.world)),
               rank = static_cast<size_t>(o.rank);
  const size_t total = sharded_length(n, o);
  return total > rank ? (total - rank + world - 1) / world : 0;
}

// torch's DistributedSampler (drop_last false): pad the order by repeating it from its start to
// a multiple of the world, then take positions rank, rank + world, ...
std::vector<size_t> shard(std::vector<size_t> order, const LoaderOptions& o) {
  if (o.world <= 1 || order.empty()) return order;
  const size_t world = static_cast<size_t>(o.world), total = sharded_length(order.size(), o);
  for (size_t i = 0; order.size() < total; ++i) order.push_back(order[i]);
  std::vector<size_t> mine;
  for (size_t i = static_cast<size_t>(o.rank); i < total; i += world) mine.push_back(order[i]);
  return mine;
}

}  // namespace

std::vector<size_t> epoch_order(const TokenizedDataset& d, const LoaderOptions& o, int epoch) {
  std::vector<size_t> order(d.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!o.shuffle) return shard(std::move(order), o);
  std::mt19937_64 rng(o.seed * 1000003ull + static_cast<uint64_t>(epoch));
  shuffle(order, rng);
  if (o.group_by_length) {
    // HF LengthGroupedSampler: mega-batches of 50 batches, each sorted longest first, and
    // the mega-batch holding the longest example goes first (so an OOM shows up at once).
    // Mega-batches of the global batch (per-device x world), so that the grouped order does
    // not depend on how many ranks share it.
    const size_t mega = 50 * static_cast<size_t>(o.batch_size) * static_cast<size_t>(o.world);
    std::vector<std::vector<size_t>> megas;
    for (size_t i = 0; i < order.size(); i += mega)
      megas.emplace_back(order.begin() + i, order.begin() + std::min(order.size(), i + mega));
    for (auto& m : megas)
      std::stable_sort(m.begin(), m.end(),
                       [&](size_t a, size_t b) { return d.length(a) > d.length(b); });
    size_t longest = 0;
    for (size_t k = 1; k < megas.size(); ++k)
      if (d.length(megas[k][0]) > d.length(megas[longest][0])) longest = k;
    if (longest != 0) std::swap(megas[0][0], megas[longest][0]);
    order.clear();
    for (auto& m : megas) order.insert(order.end(), m.begin(), m.end());
  }
  return shard(std::move(order), o);
}

DataLoader::DataLoader(const TokenizedDataset& data, ExampleLabels labels, LoaderOptions o)
    : data_(data), labels_(std::move(labels)), o_(o) {
  if (o_.batch_size <= 0) fail("batch size must be positive, got ", o_.batch_size);
  const bool as_ids = labels_.width == 0;
  const size_t n = data_.size();
  const bool ok = !labels_.token_labels.empty()
                      ? labels_.token_labels.size() == data_.total_tokens()
                  : !labels_.spans.empty() ? labels_.spans.size() == 2 * n
                  : as_ids                 ? labels_.class_ids.size() == n
                                           : labels_.targets.size() == n * labels_.width;
  if (!ok) fail("internal: one label per example (or per token, or two per answer span) expected");
  if (o_.num_workers < 0) fail("--dataloader_num_workers must be >= 0");
}

DataLoader::~DataLoader() {
  stop_workers();
}

size_t DataLoader::batches_per_epoch() const {
  const size_t n = shard_size(data_.size(), o_), b = static_cast<size_t>(o_.batch_size);
  return o_.drop_last ? n / b : (n + b - 1) / b;
}

HostBatch DataLoader::make_batch(const std::vector<size_t>& order, size_t k) const {
  const size_t begin = k * static_cast<size_t>(o_.batch_size);
  const size_t end = std::min(order.size(), begin + static_cast<size_t>(o_.batch_size));
  HostBatch b;
  b.B = static_cast<int>(end - begin);
  b.rows = {std::max(1, o_.world), o_.rank};
  int longest = 0;
  for (size_t i = begin; i < end; ++i) longest = std::max(longest, data_.length(order[i]));
  if (o_.pad_to_max_length && longest > o_.max_length)
    fail(data_.source, ": example at line ", data_.lines[order[begin]], " has ", longest,
         " tokens, more than max_length ", o_.max_length);
  b.S = o_.pad_to_max_length ? o_.max_length : std::max(longest, 1);
  const size_t cells = static_cast<size_t>(b.B) * b.S;
  const size_t W = static_cast<size_t>(labels_.width);
  const bool per_token = !labels_.token_labels.empty(), spans = !labels_.spans.empty();
  const size_t label_count = static_cast<size_t>(b.B) * (o_.mlm ? b.S : labels_.ids_per_row(b.S));
  b.storage =
      Buffer<std::byte>((3 * cells + label_count + W * b.B) * 4, MemCategory::Data, "batch");
  int32_t* p = reinterpret_cast<int32_t*>(b.storage.data());
  b.ids = {p, cells};
  b.types = {p + cells, cells};
  b.mask = {p + 2 * cells, cells};
  b.labels = {p + 3 * cells, label_count};
  b.targets = {reinterpret_cast<float*>(p + 3 * cells + label_count), W * b.B};
  std::fill(b.ids.begin(), b.ids.end(), o_.pad_id);  // types and mask start at 0
  if (per_token) std::fill(b.labels.begin(), b.labels.end(), -100);
  for (size_t r = 0; r < static_cast<size_t>(b.B); ++r) {
    size_t ex = order[begin + r];
    int len = data_.length(ex);
    std::copy_n(data_.ids_of(ex), len, b.ids.begin() + r * b.S);
    std::copy_n(data_.types_of(ex), len, b.types.begin() + r * b.S);
    std::fill_n(b.mask.begin() + r * b.S, len, 1);
    if (o_.mlm)
      o_.mlm->mask_row(b.ids.data() + r * b.S, b.labels.data() + r * b.S, len, b.S, ex, epoch_);
    else if (per_token)
      std::copy_n(labels_.token_labels.begin() + data_.offsets[ex], len,
                  b.labels.begin() + r * b.S);
    else if (spans)
      std::copy_n(labels_.spans.begin() + 2 * ex, 2, b.labels.begin() + 2 * r);
    else if (W == 0)
      b.labels[r] = labels_.class_ids[ex];
    else
      std::copy_n(labels_.targets.begin() + ex * W, W, b.targets.begin() + r * W);
    b.real_tokens += len;
  }
  return b;
}

void DataLoader::start_epoch(int epoch, size_t skip) {
  stop_workers();
  order_ = epoch_order(data_, o_, epoch);
  epoch_ = epoch;
  num_batches_ = batches_per_epoch();
  next_to_take_ = next_to_make_ = std::min(skip, num_batches_);
  done_.clear();
  error_ = nullptr;
  stopping_ = false;
  for (int w = 0; w < o_.num_workers; ++w) workers_.emplace_back([this] { worker_loop(); });
}

void DataLoader::worker_loop() {
  const size_t window = static_cast<size_t>(o_.num_workers * o_.prefetch_per_worker);
  for (;;) {
    size_t k;
    {
      std::unique_lock lock(mutex_);
      space_.wait(lock, [&] {
        return stopping_ || next_to_make_ < std::min(num_batches_, next_to_take_ + window);
      });
      if (stopping_ || next_to_make_ >= num_batches_) return;
      k = next_to_make_++;
    }
    try {
      HostBatch b = make_batch(order_, k);
      std::lock_guard lock(mutex_);
      done_.emplace(k, std::move(b));
    } catch (...) {  // hand the error to the consumer instead of terminating
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    ready_.notify_all();
  }
}

bool DataLoader::next(HostBatch& out) {
  if (next_to_take_ >= num_batches_) return false;
  auto t0 = std::chrono::steady_clock::now();
  if (workers_.empty()) {  // no prefetch: the trainer waits for the whole batch
    out = make_batch(order_, next_to_take_++);
  } else {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return error_ || done_.count(next_to_take_) != 0; });
    if (error_) std::rethrow_exception(error_);
    auto it = done_.find(next_to_take_);
    out = std::move(it->second);
    done_.erase(it);
    ++next_to_take_;
  }
  space_.notify_all();
  wait_seconds_ += seconds_since(t0);
  return true;
}

void DataLoader::stop_workers() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

}  // namespace bertrain
