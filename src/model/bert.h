// Bert: the encoder and the head config.task names (transformers' BertForSequenceClassification,
// BertForMaskedLM, BertForTokenClassification, BertForQuestionAnswering): forward and backward
// over the flat parameter buffer, with every activation in one planned arena. The heads are in
// bert_heads.cpp. T is float for training and double for the
// finite-difference gradient checks.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/batch.h"
#include "core/buffer.h"
#include "device/device.h"
#include "model/bert_config.h"
#include "model/param_layout.h"
#include "model/saved.h"

namespace bertrain {

enum class AttentionMode { Standard, MemoryEfficient };
AttentionMode parse_attention_mode(const std::string& name);  // "standard" | "memory_efficient"

// Mixed precision: fp32 master weights, gradients and optimizer; a 16-bit copy of the encoder
// weights feeds the GEMMs, and every activation kept for backward is stored in 16 bits.
// LayerNorm, softmax and loss statistics are computed in fp32.
enum class Precision { FP32, BF16, FP16 };
Precision parse_precision(const std::string& name);  // "fp32" | "bf16" | "fp16"
const char* precision_name(Precision p);

// The knobs that change what the model keeps for backward.
struct MemoryOptions {
  bool checkpointing = false;
  AttentionMode attention = AttentionMode::Standard;
  Precision precision = Precision::FP32;
  // Masked LM: the masking rate the decoder is planned for (0: every position predicted).
  double mlm_probability = 0;
};

// The rows a masked LM's decoder is planned for in a B x S batch masked at rate p: all B x S
// for p = 0; else the mean masked count plus six standard deviations (a batch beyond it, about
// one in 10^9, has its excess positions left out of the loss, with a warning), and at least the
// max(1, round(S p)) per sequence of whole-word masking.
int mlm_decoder_rows(int B, int S, double p);

// Whether the encoder's dense layers run as bf16 GEMMs: under --bf16, when the device has fast
// bf16 GEMMs (on a CPU, when oneDNN has a bf16 kernel for it: AMX-BF16 or AVX512-BF16).
// Otherwise --bf16 keeps fp32 GEMMs on bf16-rounded values.
bool uses_bf16_gemms(const Device& device, const MemoryOptions& options);
// Whether the attention core runs on bf16 GEMMs too (attention_bf16.h): under bf16 GEMMs,
// unless memory-efficient attention is asked for.
bool uses_bf16_attention(const Device& device, const MemoryOptions& options);

// Bytes of activations and backward temporaries for a B x S micro-batch.
struct ActivationPlan {
  size_t activations = 0;
  size_t temporaries = 0;
};

template <typename T>
class Bert {
 public:
  // Without gradients (with_grads false) the model can only run forward: inference costs
  // no gradient memory.
  explicit Bert(const BertConfig& config, const Device& device = cpu_device(),
                bool with_grads = true);

  const BertConfig& config() const { return config_; }
  const Device& device() const { return device_; }
  const ParamLayout& layout() const { return layout_; }
  // Non-const access marks the 16-bit weight copy stale (refreshed at the next forward).
  T* params() {
    half_weights_stale_ = true;
    return params_.data();
  }
  const T* params() const { return params_.data(); }
  // The bf16 weight copy for an optimizer to refresh as it updates params() (--bf16), or
  // null; after such an update, half_params_refreshed() says the copy is current.
  uint16_t* bf16_params() {
    return options_.precision == Precision::BF16 ? params16_.data() : nullptr;
  }
  void half_params_refreshed() { half_weights_stale_ = false; }
  // Non-const access forgets that the gradients are zero; an optimizer that leaves them zero
  // says so with grads_zeroed(), and the next zero_grads() has nothing to do.
  T* grads() {
    grads_zero_ = false;
    return grads_.data();
  }
  const T* grads() const { return grads_.data(); }
  void grads_zeroed() { grads_zero_ = true; }
  size_t num_params() const { return layout_.total(); }
  void zero_grads();

  // The plan on `device` (its kernels' scratch sizes, and on a CPU the thread count).
  static ActivationPlan plan(const Device& device, const BertConfig& c, int B, int S,
                             const MemoryOptions& options = {});
  // Gradient checkpointing (HF granularity): keep only each encoder layer's output and
  // recompute the layer in backward. Takes effect at the next reserve/forward.
  void set_gradient_checkpointing(bool on);
  bool gradient_checkpointing() const { return options_.checkpointing; }
  // Memory-efficient attention keeps no [B, heads, S, S] probabilities for backward.
  void set_attention_mode(AttentionMode mode);
  // Mixed precision (float models only). Allocates the 16-bit weight copy.
  void set_precision(Precision p);
  const MemoryOptions& memory_options() const { return options_; }
  // HF Trainer's --label_smoothing_factor (single-label only): the loss of forward and backward
  // mixes the label's NLL with the mean over classes (cross_entropy.h).
  void set_label_smoothing(double eps);
  // The kernel the encoder's GEMMs run on, e.g. "bf16 brg:avx512_core_amx_bf16 (oneDNN
  // matmul)" or "fp32 oneDNN".
  std::string gemm_kernel() const;
  // Whether the encoder's GEMMs run in bf16 (uses_bf16_gemms for this model's device).
  bool bf16_gemms() const { return gemm16_; }
  // Plans activation memory for micro-batches up to B x S (reallocates only when larger).
  void reserve(int B, int S);

  // Runs the model; dropout is on when training. Writes the loss of the config's problem type
  // (the mean cross-entropy over the labelled rows, the mean squared error, or the mean binary
  // cross-entropy over rows x labels; 0 without labels) to the double at `loss`, device
  // memory: a step reads its scalars back at one sync point.
  void forward(const Batch& batch, bool training, uint64_t dropout_seed, double* loss);
  // The same, with the loss read back to the host at once.
  double forward(const Batch& batch, bool training, uint64_t dropout_seed);
  // Device scalars for a training step, allocated with the model (the plan's temporaries count
  // them): [0] for the gradients' sum of squares, [1 + k] for micro-batch k's loss, k <
  // kStepLosses.
  static constexpr int kStepLosses = 64;
  double* step_scalars() { return scalars_.data(); }
  // Backpropagates loss * loss_scale from the last forward, accumulating into grads().
  void backward(double loss_scale);
  // Called during backward (on a device whose memory is host memory) with an offset into the
  // flat gradient buffer from which every gradient is final for this pass: the head's start,
  // then each layer's from the last down, then 0. Data parallel starts its bucketed
  // all-reduce on it. Empty: no calls.
  void set_grads_ready_hook(std::function<void(size_t)> hook) { grads_ready_ = std::move(hook); }
  // The offsets backward reports to that hook, in the order it reports them.
  std::vector<size_t> grads_ready_offsets() const;

  // Results of the last forward, in device memory. hidden_state(0) is the embeddings output,
  // hidden_state(k) the output of encoder layer k. Shapes [B, S, H], [B, H], [B, L].
  const T* hidden_state(int k) const;
  const T* pooled_output() const { return head_.pooled; }
  // [rows, classes]: sequence classification [B, L], token classification [N, L], masked LM
  // [M, V] (M: the labelled positions, or all N with set_mlm_all_positions or without
  // labels), question answering the start logits [B, S] then the end logits [B, S].
  const T* logits() const {
    return config_.task == Task::QuestionAnswering ? head_.split : head_.logits;
  }
  int logit_rows() const { return logit_rows_; }
  // Masked LM: logits for every position (parity, filling masks), not only the labelled ones;
  // needs a plan for every position (mlm_probability 0, the default).
  void set_mlm_all_positions(bool on) { mlm_all_positions_ = on; }
  // Masked LM: plan the decoder for the positions masking at rate p predicts
  // (mlm_decoder_rows) instead of every position.
  void set_mlm_probability(double p);
  // What the head predicts, [logit_rows(), logit_classes()]: class probabilities (softmax; for
  // multi-label, sigmoid per label), or the regression values (the logits).
  const T* outputs() const {
    return config_.task == Task::SequenceClassification && problem_ == ProblemType::Regression
               ? head_.logits
               : head_.probs;
  }
  int logit_classes() const {
    switch (config_.task) {
      case Task::MaskedLM:
        return config_.vocab_size;
      case Task::QuestionAnswering:
        return S_;
      default:
        return config_.num_labels();
    }
  }
  std::vector<T> host_outputs() const;  // outputs(), copied to host memory
  std::vector<T> host_logits() const;   // logits(), copied to host memory
  ProblemType problem() const { return problem_; }

 private:
  // A layer's saved tensors (saved.h lists them): `work` is what the kernels compute in (in
  // T; with mixed precision one working set all layers share, holding only what fp32
  // kernels read or write), `kept` what mixed precision keeps per layer for backward (the
  // 16-bit copy, or T for statistics). Without mixed precision `work` is what is kept.
  struct LayerTensors {
    std::array<T*, saved::count> work{};
    std::array<void*, saved::count> kept{};
  };
  // The embeddings' and the head's activations (a head's unused ones are null). Rows: B for
  // sequence classification, N = B x S for token classification and question answering, and
  // for masked LM the M positions predicted (at most N).
  struct HeadActs {
    T *emb_sum, *emb_mean, *emb_rstd, *hidden0;
    int32_t *ids, *types, *mask;
    T *cls, *pooled, *pooled_drop;  // sequence classification, [B, H]
    T* dropped;                     // token classification: the dropped hidden states [N, H]
    T *gathered, *transform, *activated, *normed, *norm_mean, *norm_rstd;  // masked LM [M, H]
    int32_t* positions;   // masked LM: the M positions predicted
    uint16_t* logits16;   // masked LM under bf16 GEMMs: the logit gradient in bf16 [M, V]
    T *logits, *probs;    // [rows, classes]; question answering: [N, 2] and [2, B, S]
    T* split;             // question answering: start | end logits [2, B, S]
    double* span_losses;  // question answering: the start and the end loss
    int32_t* labels;      // class ids [rows]; question answering: start | end [2, B]
    float* targets;       // [B, L] float labels (regression, multi-label)
  };
  struct Temps {
    T *g, *d1, *d2, *big, *attn_scratch, *dlogits, *dpooled;
    T* layer_weights;  // mixed precision: one layer's weights expanded from 16 bits
    // bf16 GEMMs: a dense layer's input, output (QKV, and those the residual LayerNorms
    // take) and output gradient in bf16; the bf16 attention's scratch.
    uint16_t *in16, *out16, *dout16;
    std::byte* attn16_scratch;
    // oneDNN's scratch for the dense layers' bf16 GEMMs (gemm_bf16.h).
    std::byte* gemm_scratch;
    size_t gemm_scratch_bytes;
    // The bf16 passes' per-row-block bias-gradient sums (kernels/cpu/column_sums.h).
    float* col_partials;
  };
  // Carves activation and temporary buffers for B x S; sizing only when the carvers have no base.
  static void carve(const Device& device, const BertConfig& c, int B, int S,
                    const MemoryOptions& options, Carver& acts, Carver& temps,
                    std::vector<LayerTensors>& layers, HeadActs& head, Temps& tmp, T*& x_work);
  void layer_forward(int l, const T* x, bool training);
  void attention_forward(int l, double p_attn);
  void residual_layernorm(int l, saved::Id out, saved::Id sum, saved::Id mean, saved::Id rstd,
                          const T* residual, double p, int site, const T* gamma, const T* beta);
  void attention_backward(int l, double p_attn);
  // The head from the last hidden state x to the loss, and its backward from the loss scale to
  // d(last hidden) in tmp_.g (bert_heads.cpp); `batch` is the host's, for the masked LM's
  // positions.
  void head_forward(const Batch& batch, const T* x, double* loss);
  void head_backward(double scale);
  void sequence_head_forward(const T* x, double* loss);
  void sequence_head_backward(double scale);
  void token_head_forward(const T* x, double* loss);
  void token_head_backward(double scale);
  void span_head_forward(const T* x, double* loss);
  void span_head_backward(double scale);
  void mlm_head_forward(const Batch& batch, const T* x, double* loss);
  void mlm_head_backward(double scale);
  void decoder_forward(int M);
  void decoder_backward(int M);
  // What the step scalars' allocation is charged.
  static size_t scalar_bytes() {
    return Allocator::charged_size((1 + kStepLosses) * sizeof(double));
  }
  bool mixed() const { return options_.precision != Precision::FP32; }
  HalfFormat half_format() const {
    return options_.precision == Precision::BF16 ? HalfFormat::BF16 : HalfFormat::FP16;
  }
  // The layer's weights: the fp32 master, or (mixed precision) the 16-bit copy expanded.
  // Index with an offset from layout().layers[l] minus that layer's qkv_w.
  const T* layer_params(int l);
  void round_half(T* x, int64_t n, uint16_t* store = nullptr) const;
  // Layer l's saved 16-bit copy of a tensor (null without mixed precision, or where
  // checkpointing keeps none); layer_input16(l) is layer l-1's output's, null for layer 0.
  uint16_t* stored16(int l, saved::Id t) const;
  const uint16_t* layer_input16(int l) const;
  const uint16_t* input_bf16(const T* in, const uint16_t* in16, int64_t n);
  // Mixed precision, before backward: bring back to the working set what an fp32 kernel of
  // backward reads (everything else was written where it is kept).
  void restore_layer(int l);
  void unpack_input(int l);  // layer l's input (layer l-1's output) into x_work_
  void layer_backward(int l, const T* x);
  // One of a layer's dense layers (weights at layout offset w_off, W their values as
  // layer_params gives them): on bf16 GEMMs when gemm16_, else in T. in16, when not null, is
  // the input's saved 16-bit copy, read instead of converting `in` again.
  void dense_forward(T* out, const T* in, const T* W, size_t w_off, const T* b, int in_f, int out_f,
                     const uint16_t* in16);
  void dense_forward16(uint16_t* out16, const T* in, size_t w_off, const T* b, int in_f, int out_f,
                       const uint16_t* in16);
  void residual_dense(const T* in, size_t w_off, const T* W, const T* b, int in_f, int out_f,
                      const uint16_t* in16);
  // dout16, when not null, is dout already in bf16.
  void dense_backward(T* din, size_t w_off, size_t b_off, const T* dout, const T* in,
                      const uint16_t* in16, const T* W, int in_f, int out_f, bool accumulate_din,
                      const uint16_t* dout16 = nullptr);
  void layernorm_backward(int l, T* dx, size_t g_off, size_t b_off, const T* dout, saved::Id sum,
                          saved::Id mean, saved::Id rstd, const T* gamma);
  const uint16_t* gelu_backward(int l, T* d, const T* f, size_t b_off);
  // Dropout site `site` of this step at probability p, over the batch's global samples.
  Dropout dropout(int site, double p) const;
  int classifier_site() const { return 1 + 3 * config_.num_hidden_layers; }

  BertConfig config_;
  ProblemType problem_;
  double label_smoothing_ = 0;
  bool mlm_all_positions_ = false;
  const T* last_hidden_ = nullptr;  // the head's input in the last forward (encoder output)
  int logit_rows_ = 0;              // rows of the last forward's logits
  int mlm_rows_cap_ = 0;            // masked LM: the decoder rows planned
  bool warned_mlm_cap_ = false;
  ParamLayout layout_;
  Device device_;
  const Ops<T>* ops_;
  const Bf16Ops* bf16_;
  Buffer<T> params_;
  Buffer<T> grads_;
  Buffer<double> scalars_;   // step_scalars()
  bool grads_zero_ = false;  // known to be all zero (zero_grads() or grads_zeroed())
  std::function<void(size_t)> grads_ready_;

  Buffer<std::byte> acts_block_, temps_block_;
  int cap_B_ = 0, cap_S_ = 0, cap_slots_ = 0;
  MemoryOptions options_;
  std::vector<LayerTensors> layers_;
  T* x_work_ = nullptr;
  Buffer<uint16_t> params16_;
  bool half_weights_stale_ = true;
  bool gemm16_ = false;  // --bf16 on a CPU with bf16 matrix units: encoder GEMMs in bf16
  HeadActs head_{};
  Temps tmp_{};

  // State of the last forward, needed by backward.
  int B_ = 0, S_ = 0;
  bool training_ = false;
  bool has_labels_ = false;
  uint64_t seed_ = 0;
  SampleRows rows_;
};

extern template class Bert<float>;
extern template class Bert<double>;

}  // namespace bertrain
