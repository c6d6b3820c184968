#include "train/evaluation.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/timing.h"

namespace bertrain {

namespace {

// The loss sum, the counts and the confusion matrix summed over the ranks (exact: integers
// and sums of doubles well inside 2^53).
void sum_over_ranks(Comm& comm, EvalResult& r, double& loss_sum, int64_t& correct) {
  std::vector<double> v = {loss_sum, static_cast<double>(correct), static_cast<double>(r.count),
                           static_cast<double>(r.examples)};
  for (const auto& row : r.confusion)
    for (int64_t c : row) v.push_back(static_cast<double>(c));
  comm.allreduce_sum(v.data(), v.size());
  loss_sum = v[0];
  correct = static_cast<int64_t>(v[1]);
  r.count = static_cast<int64_t>(v[2]);
  r.examples = static_cast<int64_t>(v[3]);
  size_t k = 4;
  for (auto& row : r.confusion)
    for (int64_t& c : row) c = static_cast<int64_t>(v[k++]);
}

}  // namespace

EvalResult evaluate_model(BertForSequenceClassification<float>& model, DataLoader& loader,
                          Comm* comm) {
  const int L = model.config().num_labels();
  EvalResult r;
  r.confusion.assign(L, std::vector<int64_t>(L, 0));
  auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  HostBatch b;
  double loss_sum = 0;
  int64_t correct = 0;
  while (loader.next(b)) {
    double loss = model.forward(b.view(), /*training=*/false, 0);
    const std::vector<float> host = model.host_probabilities();
    const float* probs = host.data();
    int64_t labelled = 0;
    for (int i = 0; i < b.B; ++i) {
      ++r.examples;
      if (b.labels[i] < 0) continue;
      ++labelled;
      int pred =
          static_cast<int>(std::max_element(probs + i * L, probs + (i + 1) * L) - (probs + i * L));
      correct += pred == b.labels[i];
      ++r.confusion[b.labels[i]][pred];
    }
    loss_sum += loss * static_cast<double>(labelled);  // HF averages per example
    r.count += labelled;
  }
  if (comm && comm->size() > 1) sum_over_ranks(*comm, r, loss_sum, correct);
  r.seconds = seconds_since(t0);
  if (r.count) {
    r.loss = loss_sum / static_cast<double>(r.count);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(r.count);
  }
  return r;
}

}  // namespace bertrain
