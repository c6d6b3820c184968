#include "train/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/timing.h"
#include "train/seqeval.h"
#include "train/squad_metric.h"

namespace bertrain {

namespace {

// Adds up v over the ranks (exact for integers and sums of doubles well inside 2^53).
void sum(Comm* comm, std::vector<double>& v) {
  if (comm && comm->size() > 1) comm->allreduce_sum(v.data(), v.size());
}

// Counts as doubles, summed over the ranks, and back.
void sum_counts(Comm* comm, std::vector<int64_t*> counts) {
  std::vector<double> v;
  for (int64_t* c : counts) v.push_back(static_cast<double>(*c));
  sum(comm, v);
  for (size_t i = 0; i < counts.size(); ++i) *counts[i] = static_cast<int64_t>(v[i]);
}

// Every rank's (prediction, label) pairs, on every rank: each writes its own at its offset
// in a zeroed buffer of all of them, and the buffers are summed.
void gather_pairs(Comm* comm, std::vector<double>& predictions, std::vector<double>& labels) {
  if (!comm || comm->size() <= 1) return;
  std::vector<double> counts(comm->size(), 0.0);
  counts[comm->rank()] = static_cast<double>(predictions.size());
  sum(comm, counts);
  size_t offset = 0, total = 0;
  for (int r = 0; r < comm->size(); ++r) {
    if (r < comm->rank()) offset += static_cast<size_t>(counts[r]);
    total += static_cast<size_t>(counts[r]);
  }
  std::vector<double> all(2 * total, 0.0);
  std::copy(predictions.begin(), predictions.end(), all.begin() + offset);
  std::copy(labels.begin(), labels.end(), all.begin() + total + offset);
  sum(comm, all);
  predictions.assign(all.begin(), all.begin() + total);
  labels.assign(all.begin() + total, all.end());
}

// Items of varying length (a window's logits, a sentence's predicted class ids) that each rank
// holds some of, the rest empty, onto every rank: first every item's length, then the values at
// their offsets in a zeroed buffer of all of them, both summed over the ranks (exact: one value
// per slot; double carries float and int32 values unchanged).
template <typename T>
void share_items(Comm* comm, std::vector<std::vector<T>>& items) {
  if (!comm || comm->size() <= 1) return;
  std::vector<double> length(items.size());
  for (size_t k = 0; k < items.size(); ++k) length[k] = static_cast<double>(items[k].size());
  sum(comm, length);
  std::vector<size_t> offset(items.size() + 1, 0);
  for (size_t k = 0; k < items.size(); ++k)
    offset[k + 1] = offset[k] + static_cast<size_t>(length[k]);
  std::vector<double> all(offset.back(), 0.0);
  for (size_t k = 0; k < items.size(); ++k)
    std::copy(items[k].begin(), items[k].end(), all.begin() + offset[k]);
  sum(comm, all);
  for (size_t k = 0; k < items.size(); ++k)
    items[k].assign(all.begin() + offset[k], all.begin() + offset[k + 1]);
}

}  // namespace

// Masked LM (run_mlm's evaluation): the loss over the masked positions, their accuracy, and
// perplexity = exp(loss).
static EvalResult evaluate_mlm(Bert<float>& model, DataLoader& loader, Comm* comm) {
  const int V = model.config().vocab_size;
  EvalResult r;
  auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  HostBatch b;
  double loss_sum = 0;
  int64_t correct = 0;
  while (loader.next(b)) {
    const double loss = model.forward(b.view(), /*training=*/false, 0);
    const std::vector<float> out = model.host_outputs();  // the masked positions' rows, in order
    int64_t row = 0;
    for (int32_t label : b.labels) {
      if (label == -100) continue;
      const float* p = out.data() + static_cast<size_t>(row++) * V;
      correct += std::max_element(p, p + V) - p == label;
    }
    r.examples += b.B;
    loss_sum += loss * static_cast<double>(row);
    r.count += row;
  }
  sum_counts(comm, {&r.count, &r.examples, &correct});
  std::vector<double> loss_total = {loss_sum};
  sum(comm, loss_total);
  r.seconds = seconds_since(t0);
  if (r.count) r.loss = loss_total[0] / static_cast<double>(r.count);
  r.metrics = {{"accuracy", r.count ? static_cast<double>(correct) / r.count : 0.0},
               {"perplexity", std::exp(r.loss)}};
  return r;
}

// Token classification (run_ner's compute_metrics): the tags at the labelled positions of each
// example, true and predicted (the argmax), scored by seqeval.
static EvalResult evaluate_tokens(Bert<float>& model, DataLoader& loader, Comm* comm) {
  const int L = model.config().num_labels();
  const std::vector<std::string>& names = model.config().id2label;
  EvalResult r;
  SeqevalCounts counts;
  auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  HostBatch b;
  double loss_sum = 0;
  std::vector<std::string> truth, predicted;
  while (loader.next(b)) {
    const double loss = model.forward(b.view(), /*training=*/false, 0);
    const std::vector<float> out = model.host_outputs();  // [B x S, L]
    for (int i = 0; i < b.B; ++i) {
      truth.clear();
      predicted.clear();
      std::vector<int32_t>& ids = r.token_predictions.emplace_back();
      for (int j = 0; j < b.S; ++j) {
        const size_t pos = static_cast<size_t>(i) * b.S + j;
        if (b.labels[pos] == -100) continue;
        const float* row = out.data() + pos * L;
        ids.push_back(static_cast<int32_t>(std::max_element(row, row + L) - row));
        truth.push_back(names[b.labels[pos]]);
        predicted.push_back(names[ids.back()]);
      }
      counts.add(truth, predicted);
      r.count += static_cast<int64_t>(ids.size());
    }
    r.examples += b.B;
    loss_sum += loss * b.B;  // HF Trainer: each batch's mean loss, weighted by its examples
  }
  std::vector<int64_t*> cells = counts.cells(names);
  cells.push_back(&r.count);
  cells.push_back(&r.examples);
  sum_counts(comm, cells);
  // In example order, every rank's (each holds its loader's examples).
  std::vector<std::vector<int32_t>> by_example(static_cast<size_t>(r.examples));
  const std::vector<size_t>& mine = loader.epoch_examples();
  for (size_t i = 0; i < mine.size(); ++i) by_example[mine[i]] = std::move(r.token_predictions[i]);
  share_items(comm, by_example);
  r.token_predictions = std::move(by_example);
  std::vector<double> loss_total = {loss_sum};
  sum(comm, loss_total);
  r.seconds = seconds_since(t0);
  if (r.examples) r.loss = loss_total[0] / static_cast<double>(r.examples);
  r.metrics = counts.metrics();
  return r;
}

static EvalResult evaluate_qa(Bert<float>& model, DataLoader& loader, Comm* comm,
                              const QaReference* qa) {
  if (!qa) fail("internal: question answering is evaluated against its examples");
  const QaFeatures& f = *qa->features;
  const size_t windows = f.data.size();
  std::vector<std::vector<float>> starts(windows), ends(windows);
  EvalResult r;
  auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(0);  // unshuffled: this rank's windows in order
  const std::vector<size_t> mine = loader.epoch_examples();
  HostBatch b;
  std::vector<double> loss_and_count = {0, 0};
  size_t w = 0;
  while (loader.next(b)) {
    const double loss = model.forward(b.view(), /*training=*/false, 0);
    const std::vector<float> logits = model.host_logits();  // [2, B, S]: starts, then ends
    for (int i = 0; i < b.B; ++i, ++w) {
      const size_t k = mine.at(w), len = static_cast<size_t>(f.data.length(k));
      const float* s = logits.data() + static_cast<size_t>(i) * b.S;
      const float* e = logits.data() + static_cast<size_t>(b.B + i) * b.S;
      starts[k].assign(s, s + len);
      ends[k].assign(e, e + len);
    }
    loss_and_count[0] += loss * b.B;
    loss_and_count[1] += b.B;
  }
  if (w != mine.size()) fail("internal: ", w, " windows evaluated of ", mine.size());
  share_items(comm, starts);  // every window's logits on every rank
  share_items(comm, ends);
  sum(comm, loss_and_count);
  if (static_cast<size_t>(loss_and_count[1]) != windows)
    fail("internal: ", loss_and_count[1], " windows evaluated of ", windows);
  const double loss_sum = loss_and_count[0];
  const std::vector<QaExample>& examples = *qa->examples;
  std::vector<std::vector<size_t>> of_example(examples.size());
  for (size_t k = 0; k < windows; ++k) of_example[f.example_of[k]].push_back(k);
  std::vector<std::string> predicted;
  std::vector<std::vector<std::string>> gold;
  for (size_t x = 0; x < examples.size(); ++x) {
    std::vector<std::vector<float>> s, e;
    for (size_t k : of_example[x]) {
      s.push_back(std::move(starts[k]));
      e.push_back(std::move(ends[k]));
    }
    const QaAnswer a =
        best_answer(examples[x], f, of_example[x], s, e, 20, 30, qa->version_2, qa->null_threshold);
    r.answers[examples[x].id] = a.text;
    predicted.push_back(a.text);
    gold.push_back(examples[x].answers);
  }
  r.examples = static_cast<int64_t>(examples.size());
  r.count = static_cast<int64_t>(windows);
  r.loss = windows ? loss_sum / static_cast<double>(windows) : 0.0;
  r.seconds = seconds_since(t0);
  if (!qa->version_2) {
    const SquadScore score = squad_score(predicted, gold);
    r.metrics = {{"exact_match", score.exact_match}, {"f1", score.f1}};
    return r;
  }
  const SquadV2Score v2 = squad_v2_score(predicted, gold);  // the squad_v2 metric's names
  r.metrics = {{"exact", v2.exact}, {"f1", v2.f1}, {"total", static_cast<double>(v2.total)}};
  if (v2.has_ans_total) {
    r.metrics["HasAns_exact"] = v2.has_ans_exact;
    r.metrics["HasAns_f1"] = v2.has_ans_f1;
    r.metrics["HasAns_total"] = static_cast<double>(v2.has_ans_total);
  }
  if (v2.no_ans_total) {
    r.metrics["NoAns_exact"] = v2.no_ans_exact;
    r.metrics["NoAns_f1"] = v2.no_ans_f1;
    r.metrics["NoAns_total"] = static_cast<double>(v2.no_ans_total);
  }
  return r;
}

EvalResult evaluate_model(Bert<float>& model, DataLoader& loader, Comm* comm,
                          const QaReference* qa) {
  if (model.config().task == Task::MaskedLM) return evaluate_mlm(model, loader, comm);
  if (model.config().task == Task::QuestionAnswering) return evaluate_qa(model, loader, comm, qa);
  if (model.config().task == Task::TokenClassification) return evaluate_tokens(model, loader, comm);
  const int L = model.config().num_labels();
  const ProblemType problem = model.problem();
  EvalResult r;
  if (problem == ProblemType::SingleLabel) r.confusion.assign(L, std::vector<int64_t>(L, 0));
  MultiLabelCounts sets(L);
  std::vector<double> predictions, values;  // regression
  auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  HostBatch b;
  double loss_sum = 0;
  while (loader.next(b)) {
    const double loss = model.forward(b.view(), /*training=*/false, 0);
    const std::vector<float> out = model.host_outputs();
    int64_t labelled = 0;
    for (int i = 0; i < b.B; ++i) {
      ++r.examples;
      const float* row = out.data() + static_cast<size_t>(i) * L;
      if (problem == ProblemType::SingleLabel) {
        if (b.labels[i] < 0) continue;
        ++r.confusion[b.labels[i]][std::max_element(row, row + L) - row];
      } else if (problem == ProblemType::MultiLabel) {
        sets.add(row, b.targets.data() + static_cast<size_t>(i) * L);
      } else {
        for (int k = 0; k < L; ++k) {
          predictions.push_back(row[k]);
          values.push_back(b.targets[static_cast<size_t>(i) * L + k]);
        }
      }
      ++labelled;
    }
    loss_sum += loss * static_cast<double>(labelled);  // HF averages per example
    r.count += labelled;
  }
  std::vector<int64_t*> counts = {&r.count, &r.examples};
  for (auto& row : r.confusion)
    for (int64_t& c : row) counts.push_back(&c);
  if (problem == ProblemType::MultiLabel) {
    for (auto* v : {&sets.tp, &sets.fp, &sets.fn})
      for (int64_t& c : *v) counts.push_back(&c);
    counts.push_back(&sets.exact);
    counts.push_back(&sets.rows);
  }
  sum_counts(comm, counts);
  std::vector<double> loss_total = {loss_sum};
  sum(comm, loss_total);
  if (problem == ProblemType::Regression) gather_pairs(comm, predictions, values);
  r.seconds = seconds_since(t0);
  if (r.count) r.loss = loss_total[0] / static_cast<double>(r.count);
  switch (problem) {
    case ProblemType::SingleLabel:
      r.metrics = classification_metrics(r.confusion);
      break;
    case ProblemType::Regression:
      r.metrics = regression_metrics(predictions, values);
      break;
    case ProblemType::MultiLabel:
      r.metrics = multi_label_metrics(sets);
      break;
  }
  return r;
}

}  // namespace bertrain
