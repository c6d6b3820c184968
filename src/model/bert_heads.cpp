// The heads on the encoder, as transformers' BertFor... classes compute them: forward from the
// last hidden state to the loss, backward from the loss scale to d(last hidden) in tmp_.g.
// They run in the model's element type (fp32 under mixed precision too).
#include <cstdio>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "model/bert.h"

namespace bertrain {

template <typename T>
void Bert<T>::head_forward(const Batch& batch, const T* x, double* loss) {
  const int N = B_ * S_;
  last_hidden_ = x;
  switch (config_.task) {
    case Task::SequenceClassification:
      if (batch.labels) ops_->upload(head_.labels, batch.labels, B_ * sizeof(int32_t));
      if (batch.targets)
        ops_->upload(head_.targets, batch.targets,
                     static_cast<size_t>(B_) * config_.num_labels() * sizeof(float));
      sequence_head_forward(x, loss);
      return;
    case Task::TokenClassification:
      if (batch.labels) ops_->upload(head_.labels, batch.labels, N * sizeof(int32_t));
      token_head_forward(x, loss);
      return;
    case Task::QuestionAnswering:
      if (batch.labels) {
        // (start, end) per row to the start block then the end block; transformers clamps
        // the positions to [0, S] and ignores S (an answer outside the window): here as the
        // -100 the cross-entropy kernel skips.
        std::vector<int32_t> span(2 * B_);
        for (int b = 0; b < B_; ++b)
          for (int k = 0; k < 2; ++k) {
            const int32_t p = batch.labels[2 * b + k];
            span[k * B_ + b] = p < 0 ? 0 : (p >= S_ ? -100 : p);
          }
        ops_->upload(head_.labels, span.data(), span.size() * sizeof(int32_t));
      }
      span_head_forward(x, loss);
      return;
    case Task::MaskedLM:
      mlm_head_forward(batch, x, loss);
      return;
  }
}

template <typename T>
void Bert<T>::head_backward(double scale) {
  switch (config_.task) {
    case Task::SequenceClassification:
      return sequence_head_backward(scale);
    case Task::TokenClassification:
      return token_head_backward(scale);
    case Task::QuestionAnswering:
      return span_head_backward(scale);
    case Task::MaskedLM:
      return mlm_head_backward(scale);
  }
}

// BertForSequenceClassification: tanh pooler on the [CLS] row, dropout, classifier; the loss
// of the problem type.
template <typename T>
void Bert<T>::sequence_head_forward(const T* x, double* loss) {
  const int H = config_.hidden_size, L = config_.num_labels();
  const T* P = params_.data();
  ops_->copy_rows(head_.cls, H, x, static_cast<int64_t>(S_) * H, B_, H);  // the [CLS] rows
  ops_->linear_forward(head_.pooled, head_.cls, P + layout_.pooler_w, P + layout_.pooler_b, B_, H,
                       H);
  ops_->tanh_forward(head_.pooled, head_.pooled, static_cast<int64_t>(B_) * H);
  ops_->dropout_apply(
      head_.pooled_drop, head_.pooled, B_, H,
      dropout(classifier_site(), training_ ? config_.classifier_dropout_prob() : 0));
  ops_->linear_forward(head_.logits, head_.pooled_drop, P + layout_.out_w, P + layout_.out_b, B_, H,
                       L);
  logit_rows_ = B_;
  const int64_t n = static_cast<int64_t>(B_) * L;
  switch (problem_) {
    case ProblemType::SingleLabel:
      ops_->cross_entropy_forward(head_.probs, loss, head_.logits,
                                  has_labels_ ? head_.labels : nullptr, B_, L, label_smoothing_);
      break;
    case ProblemType::Regression:
      ops_->mse_forward(loss, head_.logits, has_labels_ ? head_.targets : nullptr, n);
      break;
    case ProblemType::MultiLabel:
      ops_->bce_forward(head_.probs, loss, head_.logits, has_labels_ ? head_.targets : nullptr, n);
      break;
  }
}

template <typename T>
void Bert<T>::sequence_head_backward(double scale) {
  const int N = B_ * S_, H = config_.hidden_size, L = config_.num_labels();
  const int64_t n = static_cast<int64_t>(B_) * L;
  const T* P = params_.data();
  T* G = grads();
  switch (problem_) {
    case ProblemType::SingleLabel:
      ops_->cross_entropy_backward(tmp_.dlogits, head_.probs, head_.labels, B_, L, scale,
                                   label_smoothing_);
      break;
    case ProblemType::Regression:
      ops_->mse_backward(tmp_.dlogits, head_.logits, head_.targets, n, scale);
      break;
    case ProblemType::MultiLabel:
      ops_->bce_backward(tmp_.dlogits, head_.probs, head_.targets, n, scale);
      break;
  }
  ops_->linear_backward(tmp_.dpooled, G + layout_.out_w, G + layout_.out_b, tmp_.dlogits,
                        head_.pooled_drop, P + layout_.out_w, B_, H, L, false);
  ops_->dropout_apply(
      tmp_.dpooled, tmp_.dpooled, B_, H,
      dropout(classifier_site(), training_ ? config_.classifier_dropout_prob() : 0));
  ops_->tanh_backward(tmp_.dpooled, head_.pooled, tmp_.dpooled, static_cast<int64_t>(B_) * H);
  ops_->linear_backward(tmp_.d2, G + layout_.pooler_w, G + layout_.pooler_b, tmp_.dpooled,
                        head_.cls, P + layout_.pooler_w, B_, H, H, false);
  // Only the [CLS] rows of the last layer reach the pooler.
  ops_->fill_zero(tmp_.g, static_cast<int64_t>(N) * H);
  ops_->copy_rows(tmp_.g, static_cast<int64_t>(S_) * H, tmp_.d2, H, B_, H);
}

// BertForTokenClassification: dropout (classifier_dropout, else hidden_dropout_prob) and the
// classifier at every position; cross-entropy over the labelled positions.
template <typename T>
void Bert<T>::token_head_forward(const T* x, double* loss) {
  const int N = B_ * S_, H = config_.hidden_size, L = config_.num_labels();
  const T* P = params_.data();
  ops_->dropout_apply(
      head_.dropped, x, B_, static_cast<int64_t>(S_) * H,
      dropout(classifier_site(), training_ ? config_.classifier_dropout_prob() : 0));
  ops_->linear_forward(head_.logits, head_.dropped, P + layout_.out_w, P + layout_.out_b, N, H, L);
  ops_->cross_entropy_forward(head_.probs, loss, head_.logits, has_labels_ ? head_.labels : nullptr,
                              N, L, label_smoothing_);
  logit_rows_ = N;
}

template <typename T>
void Bert<T>::token_head_backward(double scale) {
  const int N = B_ * S_, H = config_.hidden_size, L = config_.num_labels();
  const T* P = params_.data();
  T* G = grads();
  ops_->cross_entropy_backward(tmp_.dlogits, head_.probs, head_.labels, N, L, scale,
                               label_smoothing_);
  ops_->linear_backward(tmp_.g, G + layout_.out_w, G + layout_.out_b, tmp_.dlogits, head_.dropped,
                        P + layout_.out_w, N, H, L, false);
  ops_->dropout_apply(
      tmp_.g, tmp_.g, B_, static_cast<int64_t>(S_) * H,
      dropout(classifier_site(), training_ ? config_.classifier_dropout_prob() : 0));
}

// BertForQuestionAnswering: qa_outputs at every position, split into start and end logits
// [B, S] each; the loss is the mean of the start and the end cross-entropy (softmax over all S
// positions, padding included), each over its own counted rows.
template <typename T>
void Bert<T>::span_head_forward(const T* x, double* loss) {
  const int N = B_ * S_, H = config_.hidden_size;
  const T* P = params_.data();
  ops_->linear_forward(head_.logits, x, P + layout_.out_w, P + layout_.out_b, N, H, 2);
  for (int k = 0; k < 2; ++k)  // column k of the [N, 2] logits
    ops_->copy_rows(head_.split + static_cast<int64_t>(k) * N, 1, head_.logits + k, 2, N, 1);
  const int32_t* labels = has_labels_ ? head_.labels : nullptr;
  for (int k = 0; k < 2; ++k)
    ops_->cross_entropy_forward(head_.probs + static_cast<int64_t>(k) * N, head_.span_losses + k,
                                head_.split + static_cast<int64_t>(k) * N,
                                labels ? labels + k * B_ : nullptr, B_, S_, 0.0);
  ops_->mean_of_pair(loss, head_.span_losses);
  logit_rows_ = 2 * B_;
}

template <typename T>
void Bert<T>::span_head_backward(double scale) {
  const int N = B_ * S_, H = config_.hidden_size;
  const T* P = params_.data();
  T* G = grads();
  for (int k = 0; k < 2; ++k)  // each loss enters the total with weight 1/2
    ops_->cross_entropy_backward(tmp_.dlogits + static_cast<int64_t>(k) * N,
                                 head_.probs + static_cast<int64_t>(k) * N, head_.labels + k * B_,
                                 B_, S_, scale / 2, 0.0);
  T* dlogits = tmp_.d2;  // [N, 2], interleaved as qa_outputs wrote them
  for (int k = 0; k < 2; ++k)
    ops_->copy_rows(dlogits + k, 2, tmp_.dlogits + static_cast<int64_t>(k) * N, 1, N, 1);
  ops_->linear_backward(tmp_.g, G + layout_.out_w, G + layout_.out_b, dlogits, last_hidden_,
                        P + layout_.out_w, N, H, 2, false);
}

// BertForMaskedLM: the transform (dense, GELU, LayerNorm) and the decoder, whose weight is the
// word embeddings (tied) and whose bias is cls.predictions.bias. It runs only over the
// positions predicted: the labelled ones (the same loss, at a fraction of the vocabulary's
// cost), or all of them without labels or with set_mlm_all_positions. Under bf16 GEMMs the
// decoder, the head's largest GEMM by far, runs on them too.
template <typename T>
void Bert<T>::mlm_head_forward(const Batch& batch, const T* x, double* loss) {
  const int N = B_ * S_, H = config_.hidden_size, V = config_.vocab_size;
  const T* P = params_.data();
  const bool all = mlm_all_positions_ || !batch.labels;
  if (all && mlm_rows_cap_ < N)
    fail("this masked LM's decoder is planned for the positions masking at rate ",
         options_.mlm_probability, " predicts (", mlm_rows_cap_, " of ", N,
         "), not for every position: set_mlm_probability(0) first");
  std::vector<int32_t> positions, labels;
  for (int i = 0; i < N; ++i)
    if (all || batch.labels[i] != -100) {
      positions.push_back(i);
      labels.push_back(batch.labels ? batch.labels[i] : -100);
    }
  if (static_cast<int>(positions.size()) > mlm_rows_cap_) {
    if (!warned_mlm_cap_)
      std::fprintf(stderr,
                   "warning: a batch masks %zu positions, more than the %d the decoder is planned "
                   "for (mlm_decoder_rows); its loss leaves the last %zu out\n",
                   positions.size(), mlm_rows_cap_, positions.size() - mlm_rows_cap_);
    warned_mlm_cap_ = true;
    positions.resize(mlm_rows_cap_);
    labels.resize(mlm_rows_cap_);
  }
  const int M = static_cast<int>(positions.size());
  logit_rows_ = M;
  ops_->upload(head_.positions, positions.data(), positions.size() * sizeof(int32_t));
  ops_->upload(head_.labels, labels.data(), labels.size() * sizeof(int32_t));
  if (M > 0) {
    ops_->gather_rows(head_.gathered, x, head_.positions, M, H);
    ops_->linear_forward(head_.transform, head_.gathered, P + layout_.transform_w,
                         P + layout_.transform_b, M, H, H);
    ops_->gelu_forward(head_.activated, head_.transform, static_cast<int64_t>(M) * H);
    ops_->layernorm_forward(head_.normed, head_.norm_mean, head_.norm_rstd, head_.activated,
                            P + layout_.transform_ln_g, P + layout_.transform_ln_b, M, H,
                            config_.layer_norm_eps);
    decoder_forward(M);
  }
  ops_->cross_entropy_forward(head_.probs, loss, head_.logits, has_labels_ ? head_.labels : nullptr,
                              M, V, label_smoothing_);
}

// logits = normed x word_emb^T + decoder bias over the M rows.
template <typename T>
void Bert<T>::decoder_forward(int M) {
  const int H = config_.hidden_size, V = config_.vocab_size;
  const T* P = params_.data();
  if constexpr (std::is_same_v<T, float>) {
    if (gemm16_) {
      ops_->to_half(tmp_.in16, head_.normed, static_cast<int64_t>(M) * H, HalfFormat::BF16);
      bf16_->linear_forward(head_.logits, tmp_.in16, params16_.data() + layout_.word_emb,
                            P + layout_.decoder_b, M, H, V,
                            GemmScratch{tmp_.gemm_scratch, tmp_.gemm_scratch_bytes});
      return;
    }
  }
  ops_->linear_forward(head_.logits, head_.normed, P + layout_.word_emb, P + layout_.decoder_b, M,
                       H, V);
}

// From tmp_.dlogits: d(normed) into tmp_.d1; the weight's gradient adds to the word
// embeddings' (the lookup adds its part later).
template <typename T>
void Bert<T>::decoder_backward(int M) {
  const int H = config_.hidden_size, V = config_.vocab_size;
  T* G = grads();
  if constexpr (std::is_same_v<T, float>) {
    if (gemm16_) {
      bf16_->pack_column_sums(head_.logits16, G + layout_.decoder_b, tmp_.dlogits, M, V,
                              tmp_.col_partials);
      ops_->to_half(tmp_.in16, head_.normed, static_cast<int64_t>(M) * H, HalfFormat::BF16);
      bf16_->linear_backward(tmp_.d1, G + layout_.word_emb, nullptr, tmp_.dlogits, head_.logits16,
                             tmp_.in16, params16_.data() + layout_.word_emb, M, H, V, false,
                             GemmScratch{tmp_.gemm_scratch, tmp_.gemm_scratch_bytes});
      return;
    }
  }
  ops_->linear_backward(tmp_.d1, G + layout_.word_emb, G + layout_.decoder_b, tmp_.dlogits,
                        head_.normed, params_.data() + layout_.word_emb, M, H, V, false);
}

template <typename T>
void Bert<T>::mlm_head_backward(double scale) {
  const int N = B_ * S_, H = config_.hidden_size, V = config_.vocab_size, M = logit_rows_;
  const T* P = params_.data();
  T* G = grads();
  ops_->fill_zero(tmp_.g, static_cast<int64_t>(N) * H);
  if (M == 0) return;
  ops_->cross_entropy_backward(tmp_.dlogits, head_.probs, head_.labels, M, V, scale,
                               label_smoothing_);
  decoder_backward(M);
  ops_->layernorm_backward(tmp_.d2, G + layout_.transform_ln_g, G + layout_.transform_ln_b, tmp_.d1,
                           head_.activated, head_.norm_mean, head_.norm_rstd,
                           P + layout_.transform_ln_g, M, H);
  ops_->gelu_backward(tmp_.d2, head_.transform, tmp_.d2, static_cast<int64_t>(M) * H);
  ops_->linear_backward(tmp_.d1, G + layout_.transform_w, G + layout_.transform_b, tmp_.d2,
                        head_.gathered, P + layout_.transform_w, M, H, H, false);
  ops_->scatter_rows(tmp_.g, tmp_.d1, head_.positions, M, H);
}

// bert.cpp instantiates the class; the heads' members are instantiated here.
#define BERTRAIN_INSTANTIATE(T)                                             \
  template void Bert<T>::head_forward(const Batch&, const T*, double*);     \
  template void Bert<T>::head_backward(double);                             \
  template void Bert<T>::sequence_head_forward(const T*, double*);          \
  template void Bert<T>::sequence_head_backward(double);                    \
  template void Bert<T>::token_head_forward(const T*, double*);             \
  template void Bert<T>::token_head_backward(double);                       \
  template void Bert<T>::span_head_forward(const T*, double*);              \
  template void Bert<T>::span_head_backward(double);                        \
  template void Bert<T>::mlm_head_forward(const Batch&, const T*, double*); \
  template void Bert<T>::mlm_head_backward(double);                         \
  template void Bert<T>::decoder_forward(int);                              \
  template void Bert<T>::decoder_backward(int);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain
