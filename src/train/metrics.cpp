#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace bertrain {

namespace {

// 2 tp / (2 tp + fp + fn), 0 when nothing was labelled or predicted.
double f1(int64_t tp, int64_t fp, int64_t fn) {
  const int64_t d = 2 * tp + fp + fn;
  return d ? 2.0 * static_cast<double>(tp) / static_cast<double>(d) : 0.0;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

// 1-based ranks, ties given the average of the ranks they span.
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

}  // namespace

Metrics classification_metrics(const std::vector<std::vector<int64_t>>& confusion) {
  const size_t L = confusion.size();
  std::vector<int64_t> t(L, 0), p(L, 0);  // per class: labelled, predicted
  int64_t correct = 0, total = 0;
  for (size_t i = 0; i < L; ++i)
    for (size_t j = 0; j < L; ++j) {
      t[i] += confusion[i][j];
      p[j] += confusion[i][j];
      total += confusion[i][j];
      if (i == j) correct += confusion[i][j];
    }
  double f1_sum = 0;
  int present = 0;
  for (size_t k = 0; k < L; ++k) {
    if (t[k] == 0 && p[k] == 0) continue;
    f1_sum += f1(confusion[k][k], p[k] - confusion[k][k], t[k] - confusion[k][k]);
    ++present;
  }
  // sklearn's multiclass MCC: (c s - sum t_k p_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)).
  const double c = static_cast<double>(correct), s = static_cast<double>(total);
  double tp_sum = 0, pp = 0, tt = 0;
  for (size_t k = 0; k < L; ++k) {
    tp_sum += static_cast<double>(t[k]) * static_cast<double>(p[k]);
    pp += static_cast<double>(p[k]) * static_cast<double>(p[k]);
    tt += static_cast<double>(t[k]) * static_cast<double>(t[k]);
  }
  const double denominator = std::sqrt((s * s - pp) * (s * s - tt));
  const double accuracy = total ? c / s : 0.0;
  return {{"accuracy", accuracy},
          {"f1_macro", present ? f1_sum / present : 0.0},
          {"f1_micro", accuracy},
          {"matthews_correlation", denominator > 0 ? (c * s - tp_sum) / denominator : 0.0}};
}

Metrics regression_metrics(const std::vector<double>& predictions,
                           const std::vector<double>& labels) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (predictions.empty()) return {{"mse", nan}, {"pearson", nan}, {"spearmanr", nan}};
  double se = 0;
  for (size_t i = 0; i < predictions.size(); ++i)
    se += (predictions[i] - labels[i]) * (predictions[i] - labels[i]);
  return {{"mse", se / static_cast<double>(predictions.size())},
          {"pearson", pearson(predictions, labels)},
          {"spearmanr", pearson(average_ranks(predictions), average_ranks(labels))}};
}

void MultiLabelCounts::add(const float* probabilities, const float* targets, double threshold) {
  bool all_right = true;
  for (size_t k = 0; k < tp.size(); ++k) {
    const bool predicted = probabilities[k] >= threshold, set = targets[k] >= 0.5f;
    tp[k] += predicted && set;
    fp[k] += predicted && !set;
    fn[k] += !predicted && set;
    all_right = all_right && predicted == set;
  }
  exact += all_right;
  ++rows;
}

Metrics multi_label_metrics(const MultiLabelCounts& m) {
  int64_t tp = 0, fp = 0, fn = 0;
  double f1_sum = 0;
  for (size_t k = 0; k < m.tp.size(); ++k) {
    tp += m.tp[k];
    fp += m.fp[k];
    fn += m.fn[k];
    f1_sum += f1(m.tp[k], m.fp[k], m.fn[k]);
  }
  const double labels = static_cast<double>(m.tp.size());
  return {{"f1_micro", f1(tp, fp, fn)},
          {"f1_macro", m.tp.empty() ? 0.0 : f1_sum / labels},
          {"subset_accuracy",
           m.rows ? static_cast<double>(m.exact) / static_cast<double>(m.rows) : 0.0}};
}

}  // namespace bertrain
