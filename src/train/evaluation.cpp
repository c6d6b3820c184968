#include "train/evaluation.h"

#include <algorithm>
#include <chrono>

namespace bertrain {

EvalResult evaluate_model(BertForSequenceClassification<float>& model, DataLoader& loader) {
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
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.count) {
    r.loss = loss_sum / static_cast<double>(r.count);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(r.count);
  }
  return r;
}

}  // namespace bertrain
