// Accuracy, mean loss and the confusion matrix of a model over a loader's batches.
#pragma once

#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "dist/comm.h"
#include "model/bert.h"

namespace bertrain {

struct EvalResult {
  double loss = 0;      // mean cross-entropy over labelled examples
  double accuracy = 0;  // fraction of labelled examples whose argmax is the label
  int64_t count = 0;    // labelled examples
  int64_t examples = 0;
  double seconds = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true label][predicted label]
};

// With a Comm of N ranks each rank evaluates its shard (the loader's) and the counts and sums
// are added up over the ranks: every rank gets the whole set's result.
EvalResult evaluate_model(BertForSequenceClassification<float>& model, DataLoader& loader,
                          Comm* comm = nullptr);

}  // namespace bertrain
