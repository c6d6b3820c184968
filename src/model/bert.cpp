#include "model/bert.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "device/ops.h"

namespace bertrain {

template <typename T>
Bert<T>::Bert(const BertConfig& config, const Device& device, bool with_grads)
    : config_(config),
      problem_(config.problem()),
      layout_(config),
      device_(device),
      ops_(&device.ops<T>()),
      bf16_(device.bf16),
      params_(layout_.total(), MemCategory::Weights, "parameters", *device.allocator),
      grads_(with_grads ? layout_.total() : 0, MemCategory::Gradients, "gradients",
             *device.allocator),
      scalars_(1 + kStepLosses, MemCategory::Temporaries, "step scalars", *device.allocator) {
  // Without backward there is nothing to keep per layer: plan one shared set of layer
  // activations, as gradient checkpointing does.
  if (!with_grads) options_.checkpointing = true;
}

template <typename T>
void Bert<T>::zero_grads() {
  if (grads_zero_) return;
  grads_zero_ = true;
  ops_->fill_zero(grads_.data(), static_cast<int64_t>(grads_.size()));
}

namespace {

// Which of a layer's tensors exist with these options: the probabilities, or only their
// log-sum-exp.
bool present(saved::Id t, const MemoryOptions& o) {
  if (t == saved::probs) return o.attention == AttentionMode::Standard;
  if (t == saved::lse) return o.attention == AttentionMode::MemoryEfficient;
  return true;
}

// With mixed precision, whether the shared working set holds tensor t in fp32. Under bf16
// GEMMs the fused bf16 kernels write the residual sums and the GELU output only as their
// bf16 copies, the FFN's first GEMM its output, and the bf16 attention the probabilities and
// the context so (its QKV GEMM writes bf16 rows into a temporary).
bool in_working_set(const Device& d, saved::Id t, const MemoryOptions& o) {
  if (!uses_bf16_gemms(d, o)) return true;
  switch (t) {
    case saved::qkv:
    case saved::probs:
    case saved::ctx:
      return !uses_bf16_attention(d, o);
    case saved::sum1:
    case saved::sum2:
    case saved::f:
    case saved::g:
      return false;
    default:
      return true;
  }
}

// With mixed precision, whether backward reads tensor t in fp32, so that its 16-bit copy is
// restored into the working set first. With fp32 GEMMs every kernel does (the layer output
// is not read); under bf16 GEMMs only the fp32 memory-efficient attention (qkv).
bool restored_for_backward(const Device& d, saved::Id t, const MemoryOptions& o) {
  if (!uses_bf16_gemms(d, o)) return t != saved::out;
  return t == saved::qkv && !uses_bf16_attention(d, o);
}

}  // namespace

template <typename T>
void Bert<T>::carve(const Device& device, const BertConfig& c, int B, int S,
                    const MemoryOptions& options, Carver& acts, Carver& temps,
                    std::vector<LayerTensors>& layers, HeadActs& head, Temps& tmp, T*& x_work) {
  const size_t N = static_cast<size_t>(B) * S, H = c.hidden_size, I = c.intermediate_size;
  const size_t L = c.num_labels(), nh = c.num_attention_heads;
  const bool standard = options.attention == AttentionMode::Standard;
  const bool attn16 = uses_bf16_attention(device, options);
  const bool bf16_gemms = uses_bf16_gemms(device, options);
  const bool ckpt = options.checkpointing;
  // The plan is static (the memory model runs it without a model), so it asks the device's
  // kernels for their scratch sizes.
  const Ops<T>& ops = device.ops<T>();
  const Bf16Ops* bf16 = device.bf16;  // used only under bf16 GEMMs, where it is set
  const int slots = ops.scratch_slots();
  layers.assign(c.num_hidden_layers, LayerTensors{});
  x_work = nullptr;
  // f(t, elements) for each of a layer's tensors, in saved.h's order.
  auto each = [&](auto f) {
    for (int i = 0; i < saved::count; ++i) {
      const auto t = static_cast<saved::Id>(i);
      if (present(t, options)) f(t, saved::elements(t, c, B, S));
    }
  };
  LayerTensors shared;  // what all layers share
  if (options.precision == Precision::FP32) {
    // Each layer its own tensors; with checkpointing one set for the layer being run or
    // recomputed, and only each layer's output of its own.
    each([&](saved::Id t, size_t n) {
      if (ckpt && t != saved::out) shared.work[t] = acts.take<T>(n);
    });
    for (LayerTensors& lt : layers) {
      lt = shared;
      each([&](saved::Id t, size_t n) {
        if (!ckpt || t == saved::out) lt.work[t] = acts.take<T>(n);
      });
    }
  } else {
    // One fp32 working set (the layer being run, recomputed or restored) plus what each layer
    // keeps: its 16-bit copies and its statistics. The kernels write each layer's statistics
    // where they are kept (nothing to copy). With checkpointing only the output is kept per
    // layer; under bf16 GEMMs, which read their inputs from the copies, the others get one set
    // all layers share.
    auto in_place = [&](saved::Id t) { return !ckpt && !saved::kSpecs[t].half; };
    each([&](saved::Id t, size_t n) {
      if (in_working_set(device, t, options) && !in_place(t)) shared.work[t] = acts.take<T>(n);
    });
    x_work = acts.take<T>(N * H);
    auto keep = [&](LayerTensors& lt, saved::Id t, size_t n) {
      if (saved::kSpecs[t].half) {
        lt.kept[t] = acts.take<uint16_t>(n);
        return;
      }
      T* kept = acts.take<T>(n);
      lt.kept[t] = kept;
      if (in_place(t)) lt.work[t] = kept;
    };
    if (ckpt && bf16_gemms) {
      each([&](saved::Id t, size_t n) {
        if (t != saved::out) keep(shared, t, n);
      });
    }
    for (LayerTensors& lt : layers) {
      lt = shared;
      each([&](saved::Id t, size_t n) {
        if (!ckpt || t == saved::out) keep(lt, t, n);
      });
    }
  }
  head = HeadActs{};
  head.emb_sum = acts.take<T>(N * H);
  head.emb_mean = acts.take<T>(N);
  head.emb_rstd = acts.take<T>(N);
  head.hidden0 = acts.take<T>(N * H);
  head.ids = acts.take<int32_t>(N);
  head.types = acts.take<int32_t>(N);
  head.mask = acts.take<int32_t>(N);
  size_t dlogits = 0;  // the head's logit gradient, in T
  switch (c.task) {
    case Task::SequenceClassification:
      head.cls = acts.take<T>(B * H);
      head.pooled = acts.take<T>(B * H);
      head.pooled_drop = acts.take<T>(B * H);
      head.logits = acts.take<T>(B * L);
      head.probs = acts.take<T>(B * L);
      head.labels = acts.take<int32_t>(B);
      head.targets = acts.take<float>(B * L);
      dlogits = B * L;
      break;
    case Task::TokenClassification:
      head.dropped = acts.take<T>(N * H);
      head.logits = acts.take<T>(N * L);
      head.probs = acts.take<T>(N * L);
      head.labels = acts.take<int32_t>(N);
      dlogits = N * L;
      break;
    case Task::QuestionAnswering:
      head.logits = acts.take<T>(N * 2);
      head.split = acts.take<T>(N * 2);
      head.probs = acts.take<T>(N * 2);
      head.labels = acts.take<int32_t>(2 * B);
      head.span_losses = acts.take<double>(2);
      dlogits = N * 2;
      break;
    case Task::MaskedLM: {  // planned for the positions predicted
      const size_t V = c.vocab_size, M = mlm_decoder_rows(B, S, options.mlm_probability);
      head.positions = acts.take<int32_t>(M);
      for (T** t : {&head.gathered, &head.transform, &head.activated, &head.normed})
        *t = acts.take<T>(M * H);
      head.norm_mean = acts.take<T>(M);
      head.norm_rstd = acts.take<T>(M);
      head.logits = acts.take<T>(M * V);
      head.probs = acts.take<T>(M * V);
      head.labels = acts.take<int32_t>(M);
      head.logits16 = bf16_gemms ? temps.take<uint16_t>(M * V) : nullptr;
      dlogits = M * V;
      break;
    }
  }

  tmp.g = temps.take<T>(N * H);
  tmp.d1 = temps.take<T>(N * H);
  tmp.d2 = temps.take<T>(N * H);
  tmp.big = temps.take<T>(N * std::max(I, 3 * H));
  tmp.attn_scratch = attn16
                         ? nullptr
                         : temps.take<T>(standard ? ops.attention_scratch_size(S, slots)
                                                  : ops.attention_blockwise_scratch_size(S, slots));
  tmp.attn16_scratch = attn16 ? temps.take<std::byte>(bf16->attention_scratch_bytes(
                                    S, static_cast<int>(nh), c.head_dim()))
                              : nullptr;
  tmp.dlogits = temps.take<T>(dlogits);
  tmp.dpooled = c.task == Task::SequenceClassification ? temps.take<T>(B * H) : nullptr;
  tmp.layer_weights = nullptr;
  tmp.in16 = tmp.out16 = tmp.dout16 = nullptr;
  tmp.gemm_scratch = nullptr;
  tmp.gemm_scratch_bytes = 0;
  tmp.col_partials = nullptr;
  if (bf16_gemms) {
    tmp.in16 = temps.take<uint16_t>(N * std::max(H, I));
    tmp.out16 = temps.take<uint16_t>(N * 3 * H);
    tmp.dout16 = temps.take<uint16_t>(N * std::max(I, 3 * H));
    const int n = static_cast<int>(N), h = static_cast<int>(H), i = static_cast<int>(I);
    tmp.gemm_scratch_bytes =
        std::max({bf16->linear_scratch_bytes(n, h, 3 * h), bf16->linear_scratch_bytes(n, h, h),
                  bf16->linear_scratch_bytes(n, h, i), bf16->linear_scratch_bytes(n, i, h)});
    if (c.task == Task::MaskedLM)  // the decoder
      tmp.gemm_scratch_bytes =
          std::max(tmp.gemm_scratch_bytes,
                   bf16->linear_scratch_bytes(mlm_decoder_rows(B, S, options.mlm_probability), h,
                                              c.vocab_size));
    tmp.gemm_scratch = temps.take<std::byte>(tmp.gemm_scratch_bytes);
    size_t partials = bf16->column_sums_scratch_floats(n, std::max(i, 3 * h));
    if (c.task == Task::MaskedLM)  // the decoder bias
      partials = std::max(partials, bf16->column_sums_scratch_floats(
                                        mlm_decoder_rows(B, S, options.mlm_probability),
                                        static_cast<int>(c.vocab_size)));
    tmp.col_partials = temps.take<float>(partials);
  }
  if (options.precision != Precision::FP32) {
    const size_t per_layer = 4 * H * H + 2 * H * I + 9 * H + I;  // qkv_w .. ln2_b
    tmp.layer_weights = temps.take<T>(per_layer);
  }
}

template <typename T>
ActivationPlan Bert<T>::plan(const Device& device, const BertConfig& c, int B, int S,
                             const MemoryOptions& options) {
  Carver acts, temps;
  std::vector<LayerTensors> layers;
  HeadActs head;
  Temps tmp;
  T* x_work;
  carve(device, c, B, S, options, acts, temps, layers, head, tmp, x_work);
  return {acts.used(), temps.used() + scalar_bytes()};
}

bool uses_bf16_gemms(const Device& device, const MemoryOptions& options) {
  return options.precision == Precision::BF16 && device.bf16 && device.bf16->gemm_is_fast();
}

bool uses_bf16_attention(const Device& device, const MemoryOptions& options) {
  return uses_bf16_gemms(device, options) && options.attention == AttentionMode::Standard;
}

AttentionMode parse_attention_mode(const std::string& name) {
  if (name == "standard" || name == "eager") return AttentionMode::Standard;
  if (name == "memory_efficient") return AttentionMode::MemoryEfficient;
  fail("unknown attention mode \"", name, "\"; expected standard or memory_efficient");
}

template <typename T>
void Bert<T>::set_attention_mode(AttentionMode mode) {
  if (mode == options_.attention) return;
  options_.attention = mode;
  cap_B_ = cap_S_ = cap_slots_ = 0;  // re-plan at the next reserve
}

template <typename T>
void Bert<T>::set_gradient_checkpointing(bool on) {
  if (on == options_.checkpointing) return;
  options_.checkpointing = on;
  cap_B_ = cap_S_ = cap_slots_ = 0;  // re-plan at the next reserve
}

int mlm_decoder_rows(int B, int S, double p) {
  const int N = B * S;
  if (p <= 0) return N;
  const double mean = N * p, sd = std::sqrt(N * p * (1 - p));
  const int bernoulli = static_cast<int>(std::ceil(mean + 6 * sd));
  const int whole_words = B * std::max(1, static_cast<int>(std::lround(S * p)));
  return std::min(N, std::max(bernoulli, whole_words));
}

template <typename T>
void Bert<T>::set_mlm_probability(double p) {
  if (!(p >= 0 && p < 1)) fail("mlm_probability is ", p, "; expected [0, 1)");
  if (p == options_.mlm_probability) return;
  options_.mlm_probability = p;
  cap_B_ = cap_S_ = cap_slots_ = 0;  // re-plan at the next reserve
}

template <typename T>
void Bert<T>::reserve(int B, int S) {
  const int slots = ops_->scratch_slots();
  if (B <= cap_B_ && S <= cap_S_ && slots <= cap_slots_) return;
  B = std::max(B, cap_B_);
  S = std::max(S, cap_S_);
  // Release the old blocks first so the peak never holds both.
  acts_block_ = Buffer<std::byte>();
  temps_block_ = Buffer<std::byte>();
  ActivationPlan p = plan(device_, config_, B, S, options_);
  acts_block_ =
      Buffer<std::byte>(p.activations, MemCategory::Activations, "activations", *device_.allocator);
  temps_block_ = Buffer<std::byte>(p.temporaries - scalar_bytes(), MemCategory::Temporaries,
                                   "backward temporaries", *device_.allocator);
  Carver acts(acts_block_.data()), temps(temps_block_.data());
  carve(device_, config_, B, S, options_, acts, temps, layers_, head_, tmp_, x_work_);
  cap_B_ = B;
  cap_S_ = S;
  cap_slots_ = slots;
  mlm_rows_cap_ = mlm_decoder_rows(B, S, options_.mlm_probability);
}

template <typename T>
void Bert<T>::set_label_smoothing(double eps) {
  if (!(eps >= 0 && eps < 1)) fail("label_smoothing_factor is ", eps, "; expected [0, 1)");
  if (eps != 0 && problem_ != ProblemType::SingleLabel)
    fail("label_smoothing_factor applies to single-label classification, not ",
         problem_type_name(problem_));
  label_smoothing_ = eps;
}

template <typename T>
Dropout Bert<T>::dropout(int site, double p) const {
  return {p, seed_ ^ (static_cast<uint64_t>(site + 1) * 0xd1b54a32d192ed03ull), rows_};
}

template <typename T>
std::vector<T> Bert<T>::host_outputs() const {
  std::vector<T> host(static_cast<size_t>(logit_rows_) * logit_classes());
  ops_->download(host.data(), outputs(), host.size() * sizeof(T));
  return host;
}

template <typename T>
std::vector<T> Bert<T>::host_logits() const {
  std::vector<T> host(static_cast<size_t>(logit_rows_) * logit_classes());
  ops_->download(host.data(), logits(), host.size() * sizeof(T));
  return host;
}

template <typename T>
const T* Bert<T>::hidden_state(int k) const {
  if (mixed() && k != 0 && k != config_.num_hidden_layers)
    fail("hidden_state(", k, ") is not kept in fp32 under mixed precision");
  return k == 0 ? head_.hidden0 : layers_.at(k - 1).work[saved::out];
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32" || name == "no") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "fp16") return Precision::FP16;
  fail("unknown precision \"", name, "\"; expected fp32, bf16 or fp16");
}

const char* precision_name(Precision p) {
  return p == Precision::BF16 ? "bf16" : p == Precision::FP16 ? "fp16" : "fp32";
}

template <typename T>
std::string Bert<T>::gemm_kernel() const {
  if (gemm16_) return std::string("bf16 ") + bf16_->gemm_isa() + " (" + bf16_->gemm_library + ")";
  return std::string(std::is_same_v<T, float> ? "fp32 " : "fp64 ") + ops_->gemm_backend();
}

template <typename T>
void Bert<T>::set_precision(Precision p) {
  if (p == options_.precision) return;
  if (p != Precision::FP32 && !std::is_same_v<T, float>)
    fail("mixed precision needs a float model");
  options_.precision = p;
  gemm16_ = uses_bf16_gemms(device_, options_);
  params16_ = p == Precision::FP32 ? Buffer<uint16_t>()
                                   : Buffer<uint16_t>(layout_.total(), MemCategory::Weights,
                                                      "16-bit weight copy", *device_.allocator);
  half_weights_stale_ = true;
  cap_B_ = cap_S_ = cap_slots_ = 0;  // re-plan at the next reserve
}

// Rounds x to the 16-bit format in place and, given `store`, writes the 16-bit values there in
// the same pass (the tensor's saved copy, which the bf16 GEMMs also read).
template <typename T>
void Bert<T>::round_half(T* x, int64_t n, uint16_t* store) const {
  if (mixed()) ops_->round_half(x, n, half_format(), store);
}

template <typename T>
const T* Bert<T>::layer_params(int l) {
  const LayerOffsets& o = layout_.layers[l];
  if (!mixed()) return params_.data() + o.qkv_w;
  if (half_weights_stale_) {  // the master weights changed since the last copy
    ops_->to_half(params16_.data(), params_.data(), static_cast<int64_t>(layout_.total()),
                  half_format());
    half_weights_stale_ = false;
  }
  auto expand = [&](size_t begin, size_t end) {  // layout offsets [begin, end) of layer l
    ops_->from_half(tmp_.layer_weights + (begin - o.qkv_w), params16_.data() + begin,
                    static_cast<int64_t>(end - begin), half_format());
  };
  const size_t H = config_.hidden_size;
  if (gemm16_) {  // the GEMMs read params16_ itself: expand only biases and LayerNorm
    expand(o.qkv_b, o.qkv_b + 3 * H);
    expand(o.attn_out_b, o.ln1_b + H);
    expand(o.inter_b, o.inter_b + config_.intermediate_size);
    expand(o.out_b, o.ln2_b + H);
  } else {
    expand(o.qkv_w, o.ln2_b + H);
  }
  return tmp_.layer_weights;
}

// Walks saved.h's list. With checkpointing nothing but the output (written as it was
// produced) is kept: the layer is recomputed instead. Statistics are written where they are
// kept (carve), the 16-bit copies where they are produced; what is left is widening the copies
// an fp32 kernel of backward reads (none under bf16 GEMMs but the fp32 memory-efficient
// attention's QKV).
template <typename T>
void Bert<T>::restore_layer(int l) {
  if (options_.checkpointing) return;
  LayerTensors& lt = layers_[l];
  for (int i = 0; i < saved::count; ++i) {
    const auto t = static_cast<saved::Id>(i);
    if (!lt.kept[t]) continue;
    const int64_t n = static_cast<int64_t>(saved::elements(t, config_, B_, S_));
    if (saved::kSpecs[t].half && restored_for_backward(device_, t, options_))
      ops_->from_half(lt.work[t], static_cast<const uint16_t*>(lt.kept[t]), n, half_format());
  }
}

template <typename T>
void Bert<T>::unpack_input(int l) {
  ops_->from_half(x_work_, stored16(l - 1, saved::out),
                  static_cast<int64_t>(B_) * S_ * config_.hidden_size, half_format());
}

// Checks every id against the config so a bad input is an error, never an out-of-bounds read.
static void validate_batch(const BertConfig& c, const Batch& b) {
  if (b.B <= 0 || b.S <= 0) fail("batch has shape [", b.B, ", ", b.S, "]; both must be positive");
  if (b.S > c.max_position_embeddings) {
    fail("sequence length ", b.S, " exceeds max_position_embeddings (", c.max_position_embeddings,
         ")");
  }
  for (int r = 0; r < b.B; ++r) {
    for (int s = 0; s < b.S; ++s) {
      size_t i = static_cast<size_t>(r) * b.S + s;
      if (b.input_ids[i] < 0 || b.input_ids[i] >= c.vocab_size)
        fail("input_ids[", r, ", ", s, "] = ", b.input_ids[i], " is outside the vocabulary (size ",
             c.vocab_size, ")");
      if (b.token_type_ids[i] < 0 || b.token_type_ids[i] >= c.type_vocab_size)
        fail("token_type_ids[", r, ", ", s, "] = ", b.token_type_ids[i], " is outside 0..",
             c.type_vocab_size - 1);
      if (b.attention_mask[i] != 0 && b.attention_mask[i] != 1)
        fail("attention_mask[", r, ", ", s, "] = ", b.attention_mask[i], "; expected 0 or 1");
    }
  }
  // Class ids: one a row (sequence classification) or a position (token classification over
  // num_labels, masked LM over the vocabulary); -100 marks none. Question answering's start and
  // end positions are any integers (clamped, as transformers does).
  const bool per_position = c.task == Task::TokenClassification || c.task == Task::MaskedLM;
  const int classes = c.task == Task::MaskedLM ? c.vocab_size : c.num_labels();
  if (b.labels && c.task != Task::QuestionAnswering)
    for (int64_t i = 0; i < static_cast<int64_t>(b.B) * (per_position ? b.S : 1); ++i)
      if (b.labels[i] != -100 && (b.labels[i] < 0 || b.labels[i] >= classes)) {
        if (per_position)
          fail("labels[", i / b.S, ", ", i % b.S, "] = ", b.labels[i], " is outside 0..",
               classes - 1);
        fail("labels[", i, "] = ", b.labels[i], " is outside 0..", classes - 1);
      }
  if (c.task != Task::SequenceClassification) {
    if (b.targets) fail("a ", task_architecture(c.task), " model takes class ids, not targets");
    return;
  }
  const bool float_labels = c.problem() != ProblemType::SingleLabel;
  if (float_labels ? b.labels != nullptr : b.targets != nullptr)
    fail("a ", problem_type_name(c.problem()), " model takes ",
         float_labels ? "float labels (targets)" : "class ids (labels)");
  if (b.targets)
    for (int64_t i = 0; i < static_cast<int64_t>(b.B) * c.num_labels(); ++i)
      if (!std::isfinite(b.targets[i]))
        fail("targets[", i / c.num_labels(), ", ", i % c.num_labels(), "] = ", b.targets[i],
             " is not a finite number");
}

template <typename T>
double Bert<T>::forward(const Batch& batch, bool training, uint64_t dropout_seed) {
  forward(batch, training, dropout_seed, scalars_.data() + 1);
  double loss;
  ops_->download(&loss, scalars_.data() + 1, sizeof loss);
  return loss;
}

template <typename T>
void Bert<T>::forward(const Batch& batch, bool training, uint64_t dropout_seed, double* loss) {
  validate_batch(config_, batch);
  reserve(batch.B, batch.S);
  B_ = batch.B;
  S_ = batch.S;
  training_ = training;
  seed_ = dropout_seed;
  rows_ = batch.rows;
  has_labels_ = batch.labels != nullptr || batch.targets != nullptr;
  const int N = B_ * S_, H = config_.hidden_size;
  // The batch was validated on the host; the kernels read the device's copy.
  const size_t ids_bytes = static_cast<size_t>(N) * sizeof(int32_t);
  ops_->upload(head_.ids, batch.input_ids, ids_bytes);
  ops_->upload(head_.types, batch.token_type_ids, ids_bytes);
  ops_->upload(head_.mask, batch.attention_mask, ids_bytes);
  const T* P = params_.data();
  const double p_hidden = training ? config_.hidden_dropout_prob : 0.0;

  ops_->embedding_forward(head_.emb_sum, head_.ids, head_.types, P + layout_.word_emb,
                          P + layout_.pos_emb, P + layout_.type_emb, B_, S_, H);
  ops_->layernorm_forward(head_.hidden0, head_.emb_mean, head_.emb_rstd, head_.emb_sum,
                          P + layout_.emb_ln_g, P + layout_.emb_ln_b, N, H, config_.layer_norm_eps);
  ops_->dropout_apply(head_.hidden0, head_.hidden0, B_, static_cast<int64_t>(S_) * H,
                      dropout(0, p_hidden));
  round_half(head_.hidden0, static_cast<int64_t>(N) * H);
  const T* x = head_.hidden0;
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    if (mixed() && l > 0) {  // the working set's output becomes this layer's input
      ops_->copy(x_work_, layers_[l - 1].work[saved::out], static_cast<int64_t>(N) * H);
      x = x_work_;
    }
    layer_forward(l, x, training);
    x = layers_[l].work[saved::out];
  }
  head_forward(batch, x, loss);
}

template <typename T>
void Bert<T>::layer_forward(int l, const T* x, bool training) {
  auto& a = layers_[l].work;
  const LayerOffsets& o = layout_.layers[l];
  const T* W = layer_params(l);
  auto w = [&](size_t offset) { return W + (offset - o.qkv_w); };
  const int N = B_ * S_, H = config_.hidden_size, I = config_.intermediate_size;
  const double p_hidden = training ? config_.hidden_dropout_prob : 0.0;
  const double p_attn = training ? config_.attention_probs_dropout_prob : 0.0;
  const int64_t NI = static_cast<int64_t>(N) * I;
  // Mixed precision: every tensor kept for backward, and every GEMM output, is rounded to
  // 16 bits where it is produced (its saved copy written in the same pass), so the forward
  // pass computes with exactly the values that backward will see; the bf16 GEMMs read their
  // inputs from those copies.
  auto store = [&](saved::Id t) { return stored16(l, t); };

  if (uses_bf16_attention(device_, options_))  // the attention reads the QKV in bf16
    dense_forward16(tmp_.out16, x, o.qkv_w, w(o.qkv_b), H, 3 * H, layer_input16(l));
  else
    dense_forward(a[saved::qkv], x, w(o.qkv_w), o.qkv_w, w(o.qkv_b), H, 3 * H, layer_input16(l));
  attention_forward(l, p_attn);
  residual_dense(a[saved::ctx], o.attn_out_w, w(o.attn_out_w), w(o.attn_out_b), H, H,
                 store(saved::ctx));
  residual_layernorm(l, saved::h1, saved::sum1, saved::mean1, saved::rstd1, x, p_hidden, 2 + 3 * l,
                     w(o.ln1_g), w(o.ln1_b));
  if (gemm16_) {  // the GEMM writes the bf16 copy of its output, which GELU reads
    dense_forward16(store(saved::f), a[saved::h1], o.inter_w, w(o.inter_b), H, I, store(saved::h1));
    if constexpr (std::is_same_v<T, float>)
      bf16_->gelu_forward(store(saved::g), store(saved::f), NI);
  } else {
    dense_forward(a[saved::f], a[saved::h1], w(o.inter_w), o.inter_w, w(o.inter_b), H, I,
                  store(saved::h1));
    round_half(a[saved::f], NI, store(saved::f));
    ops_->gelu_forward(a[saved::g], a[saved::f], NI);
    round_half(a[saved::g], NI, store(saved::g));
  }
  residual_dense(a[saved::g], o.out_w, w(o.out_w), w(o.out_b), I, H, store(saved::g));
  residual_layernorm(l, saved::out, saved::sum2, saved::mean2, saved::rstd2, a[saved::h1], p_hidden,
                     3 + 3 * l, w(o.ln2_g), w(o.ln2_b));
}

// out = LayerNorm(dropout(dense output) + residual), sum the residual sum: each rounded to 16
// bits and stored under mixed precision. The dense output is residual_dense's: in tmp_.d2, or
// under bf16 GEMMs in bf16 in tmp_.out16, taken in one fused pass (where the fp32 sum is not
// kept: backward reads its bf16 copy).
template <typename T>
void Bert<T>::residual_layernorm(int l, saved::Id out, saved::Id sum, saved::Id mean,
                                 saved::Id rstd, const T* residual, double p, int site,
                                 const T* gamma, const T* beta) {
  auto& a = layers_[l].work;
  const int N = B_ * S_, H = config_.hidden_size;
  const int64_t NH = static_cast<int64_t>(N) * H;
  const double eps = config_.layer_norm_eps;
  if constexpr (std::is_same_v<T, float>) {
    if (gemm16_) {
      bf16_->add_layernorm_forward(a[out], stored16(l, out), stored16(l, sum), a[mean], a[rstd],
                                   tmp_.out16, dropout(site, p), residual, gamma, beta, B_, S_, H,
                                   eps);
      return;
    }
  }
  round_half(tmp_.d2, NH);
  ops_->dropout_apply(tmp_.d2, tmp_.d2, B_, static_cast<int64_t>(S_) * H, dropout(site, p));
  ops_->add_layernorm_forward(a[out], a[sum], a[mean], a[rstd], tmp_.d2, residual, gamma, beta, N,
                              H, eps);
  round_half(a[sum], NH, stored16(l, sum));
  round_half(a[out], NH, stored16(l, out));
}

// The attention core of layer l, from the qkv (the QKV GEMM's output) to the context.
template <typename T>
void Bert<T>::attention_forward(int l, double p_attn) {
  auto& a = layers_[l].work;
  const int nh = config_.num_attention_heads, D = config_.head_dim();
  const Dropout drop = dropout(1 + 3 * l, p_attn);
  auto store = [&](saved::Id t) { return stored16(l, t); };
  if constexpr (std::is_same_v<T, float>) {
    if (uses_bf16_attention(device_,
                            options_)) {  // QKV, probabilities and context go straight to bf16
      bf16_->qkv_to_heads(store(saved::qkv), tmp_.out16, B_, S_, nh, D);
      bf16_->attention_forward(store(saved::ctx), store(saved::probs), store(saved::qkv),
                               head_.mask, B_, S_, nh, D, drop, tmp_.attn16_scratch);
      return;
    }
  }
  const int64_t NH = static_cast<int64_t>(B_) * S_ * config_.hidden_size;
  round_half(a[saved::qkv], 3 * NH, store(saved::qkv));
  if (options_.attention == AttentionMode::Standard) {
    ops_->attention_forward(a[saved::ctx], a[saved::probs], a[saved::qkv], head_.mask, B_, S_, nh,
                            D, drop, tmp_.attn_scratch);
    round_half(a[saved::probs], static_cast<int64_t>(B_) * nh * S_ * S_, store(saved::probs));
  } else {
    ops_->attention_forward_blockwise(a[saved::ctx], a[saved::lse], a[saved::qkv], head_.mask, B_,
                                      S_, nh, D, drop, tmp_.attn_scratch);
  }
  round_half(a[saved::ctx], NH, store(saved::ctx));
}

// d(context) in tmp_.d1 to d(qkv) in tmp_.big.
template <typename T>
void Bert<T>::attention_backward(int l, double p_attn) {
  const auto& a = layers_[l].work;
  const int nh = config_.num_attention_heads, D = config_.head_dim();
  const Dropout drop = dropout(1 + 3 * l, p_attn);
  if constexpr (std::is_same_v<T, float>) {
    if (uses_bf16_attention(device_, options_)) {
      bf16_->attention_backward(tmp_.big, tmp_.d1, stored16(l, saved::qkv),
                                stored16(l, saved::probs), B_, S_, nh, D, drop,
                                tmp_.attn16_scratch);
      return;
    }
  }
  if (options_.attention == AttentionMode::Standard)
    ops_->attention_backward(tmp_.big, tmp_.d1, a[saved::qkv], a[saved::probs], B_, S_, nh, D, drop,
                             tmp_.attn_scratch);
  else
    ops_->attention_backward_blockwise(tmp_.big, tmp_.d1, a[saved::qkv], a[saved::lse], head_.mask,
                                       B_, S_, nh, D, drop, tmp_.attn_scratch);
}

template <typename T>
uint16_t* Bert<T>::stored16(int l, saved::Id t) const {
  return mixed() && saved::kSpecs[t].half ? static_cast<uint16_t*>(layers_[l].kept[t]) : nullptr;
}

template <typename T>
const uint16_t* Bert<T>::layer_input16(int l) const {
  return l > 0 ? stored16(l - 1, saved::out) : nullptr;
}

template <typename T>
std::vector<size_t> Bert<T>::grads_ready_offsets() const {
  std::vector<size_t> offsets{layout_.head_begin};  // the head's gradients
  for (int l = config_.num_hidden_layers - 1; l >= 0; --l)
    offsets.push_back(layout_.layers[l].qkv_w);  // each layer's, from the last down
  offsets.push_back(0);                          // the embeddings'
  return offsets;
}

template <typename T>
void Bert<T>::backward(double loss_scale) {
  if (!has_labels_) fail("backward needs a forward pass with labels");
  if (grads_.size() == 0) fail("backward on a model built without gradients");
  const int N = B_ * S_, H = config_.hidden_size;
  const T* P = params_.data();
  T* G = grads();
  head_backward(loss_scale);
  auto ready = [&](size_t from) {
    if (grads_ready_) grads_ready_(from);
  };
  ready(layout_.head_begin);
  const int last = config_.num_hidden_layers - 1;
  for (int l = last; l >= 0; --l) {
    const T* x = l == 0 ? head_.hidden0 : layers_[l - 1].work[saved::out];
    if (mixed() && l > 0) {
      // Needed in fp32 by a recomputed forward, or by an fp32 QKV GEMM in backward.
      if (options_.checkpointing || !gemm16_) unpack_input(l);
      x = x_work_;
    }
    // The working activations hold the last layer's. Checkpointing recomputes the others
    // (same inputs, same dropout seeds: the same values the forward pass produced); mixed
    // precision restores them from their 16-bit copies.
    if (options_.checkpointing && l != last)
      layer_forward(l, x, training_);
    else if (mixed() && l != last)
      restore_layer(l);
    layer_backward(l, x);
    ready(layout_.layers[l].qkv_w);
  }
  ops_->dropout_apply(tmp_.g, tmp_.g, B_, static_cast<int64_t>(S_) * H,
                      dropout(0, training_ ? config_.hidden_dropout_prob : 0.0));
  ops_->layernorm_backward(tmp_.d1, G + layout_.emb_ln_g, G + layout_.emb_ln_b, tmp_.g,
                           head_.emb_sum, head_.emb_mean, head_.emb_rstd, P + layout_.emb_ln_g, N,
                           H);
  ops_->embedding_backward(G + layout_.word_emb, G + layout_.pos_emb, G + layout_.type_emb, tmp_.d1,
                           head_.ids, head_.types, B_, S_, H, config_.pad_token_id);
  ready(0);
}

// tmp_.g holds d(layer output) on entry and d(layer input) on exit.
template <typename T>
void Bert<T>::layer_backward(int l, const T* x) {
  const auto& a = layers_[l].work;
  const LayerOffsets& o = layout_.layers[l];
  const T* W = layer_params(l);
  auto w = [&](size_t offset) { return W + (offset - o.qkv_w); };
  const int H = config_.hidden_size, I = config_.intermediate_size;
  const double p_hidden = training_ ? config_.hidden_dropout_prob : 0.0;
  const double p_attn = training_ ? config_.attention_probs_dropout_prob : 0.0;
  // d(dense output) = dropout mask applied to d(residual sum); a copy only when dropout is on.
  auto through_dropout = [&](const T* dsum, int site) -> const T* {
    if (p_hidden <= 0) return dsum;
    ops_->dropout_apply(tmp_.d2, dsum, B_, static_cast<int64_t>(S_) * H, dropout(site, p_hidden));
    return tmp_.d2;
  };

  layernorm_backward(l, tmp_.d1, o.ln2_g, o.ln2_b, tmp_.g, saved::sum2, saved::mean2, saved::rstd2,
                     w(o.ln2_g));
  const T* d_out = through_dropout(tmp_.d1, 3 + 3 * l);
  dense_backward(tmp_.big, o.out_w, o.out_b, d_out, a[saved::g], stored16(l, saved::g), w(o.out_w),
                 I, H, false);
  const uint16_t* dgelu16 = gelu_backward(l, tmp_.big, a[saved::f], o.inter_b);
  dense_backward(tmp_.d1, o.inter_w, o.inter_b, tmp_.big, a[saved::h1], stored16(l, saved::h1),
                 w(o.inter_w), H, I, true, dgelu16);
  layernorm_backward(l, tmp_.g, o.ln1_g, o.ln1_b, tmp_.d1, saved::sum1, saved::mean1, saved::rstd1,
                     w(o.ln1_g));
  const T* d_attn_out = through_dropout(tmp_.g, 2 + 3 * l);
  dense_backward(tmp_.d1, o.attn_out_w, o.attn_out_b, d_attn_out, a[saved::ctx],
                 stored16(l, saved::ctx), w(o.attn_out_w), H, H, false);
  attention_backward(l, p_attn);
  dense_backward(tmp_.g, o.qkv_w, o.qkv_b, tmp_.big, x, layer_input16(l), w(o.qkv_w), H, 3 * H,
                 true);
}

// LayerNorm backward of layer l's LayerNorm (gamma, beta at layout offsets g_off, b_off),
// reading its saved input from the bf16 copy under bf16 GEMMs (not restored to fp32 then).
template <typename T>
void Bert<T>::layernorm_backward(int l, T* dx, size_t g_off, size_t b_off, const T* dout,
                                 saved::Id sum, saved::Id mean, saved::Id rstd, const T* gamma) {
  const auto& a = layers_[l].work;
  T* G = grads_.data();
  const int N = B_ * S_, H = config_.hidden_size;
  if constexpr (std::is_same_v<T, float>) {
    if (gemm16_) {
      bf16_->layernorm_backward(dx, G + g_off, G + b_off, dout, stored16(l, sum), a[mean], a[rstd],
                                gamma, N, H);
      return;
    }
  }
  ops_->layernorm_backward(dx, G + g_off, G + b_off, dout, a[sum], a[mean], a[rstd], gamma, N, H);
}

// GELU backward in place on tmp_.big. Under bf16 GEMMs it reads the saved bf16 input, writes
// the result in bf16 only, for the next GEMMs (returned; null otherwise), and adds it into the
// intermediate bias gradient (at b_off) in the same pass.
template <typename T>
const uint16_t* Bert<T>::gelu_backward(int l, T* d, const T* f, size_t b_off) {
  const int N = B_ * S_, I = config_.intermediate_size;
  if constexpr (std::is_same_v<T, float>) {
    if (gemm16_) {
      bf16_->gelu_backward(tmp_.dout16, grads_.data() + b_off, stored16(l, saved::f), d, N, I,
                           tmp_.col_partials);
      return tmp_.dout16;
    }
  }
  ops_->gelu_backward(d, f, d, static_cast<int64_t>(N) * I);
  return nullptr;
}

// A dense layer's input in bf16: its stored copy when there is one, else converted into
// tmp_.in16 (exact: the input holds bf16 values already).
template <typename T>
const uint16_t* Bert<T>::input_bf16(const T* in, const uint16_t* in16, int64_t n) {
  if (in16) return in16;
  ops_->to_half(tmp_.in16, in, n, HalfFormat::BF16);
  return tmp_.in16;
}

template <typename T>
void Bert<T>::dense_forward(T* out, const T* in, const T* W, size_t w_off, const T* b, int in_f,
                            int out_f, const uint16_t* in16) {
  const int N = B_ * S_;
  if constexpr (std::is_same_v<T, float>) {
    if (gemm16_) {
      bf16_->linear_forward(out, input_bf16(in, in16, static_cast<int64_t>(N) * in_f),
                            params16_.data() + w_off, b, N, in_f, out_f,
                            GemmScratch{tmp_.gemm_scratch, tmp_.gemm_scratch_bytes});
      return;
    }
  }
  ops_->linear_forward(out, in, W, b, N, in_f, out_f);
}

// A dense layer under bf16 GEMMs whose output the next kernel reads in bf16: the GEMM rounds
// it (bias included) as it writes it.
template <typename T>
void Bert<T>::dense_forward16(uint16_t* out16, const T* in, size_t w_off, const T* b, int in_f,
                              int out_f, const uint16_t* in16) {
  if constexpr (std::is_same_v<T, float>) {
    const int N = B_ * S_;
    bf16_->linear_forward16(out16, input_bf16(in, in16, static_cast<int64_t>(N) * in_f),
                            params16_.data() + w_off, b, N, in_f, out_f,
                            GemmScratch{tmp_.gemm_scratch, tmp_.gemm_scratch_bytes});
  } else {
    fail("bf16 GEMMs run only in float models");
  }
}

// A dense layer whose output the residual LayerNorm takes: in bf16 in tmp_.out16 under bf16
// GEMMs, else in fp32 in tmp_.d2.
template <typename T>
void Bert<T>::residual_dense(const T* in, size_t w_off, const T* W, const T* b, int in_f, int out_f,
                             const uint16_t* in16) {
  if (gemm16_)
    dense_forward16(tmp_.out16, in, w_off, b, in_f, out_f, in16);
  else
    dense_forward(tmp_.d2, in, W, w_off, b, in_f, out_f, in16);
}

// As torch autocast does, the bf16 GEMMs take the output gradient rounded to bf16; the bias
// gradient sums it unrounded. Under bf16 GEMMs a `dout16` given comes from the kernel that wrote
// it with the bias gradient already summed (GELU backward); else both happen here in one pass.
template <typename T>
void Bert<T>::dense_backward(T* din, size_t w_off, size_t b_off, const T* dout, const T* in,
                             const uint16_t* in16, const T* W, int in_f, int out_f,
                             bool accumulate_din, const uint16_t* dout16) {
  const int N = B_ * S_;
  T* G = grads_.data();
  if constexpr (std::is_same_v<T, float>) {
    if (gemm16_) {
      if (!dout16) {
        bf16_->pack_column_sums(tmp_.dout16, G + b_off, dout, N, out_f, tmp_.col_partials);
        dout16 = tmp_.dout16;
      }
      bf16_->linear_backward(din, G + w_off, nullptr, dout, dout16,
                             input_bf16(in, in16, static_cast<int64_t>(N) * in_f),
                             params16_.data() + w_off, N, in_f, out_f, accumulate_din,
                             GemmScratch{tmp_.gemm_scratch, tmp_.gemm_scratch_bytes});
      return;
    }
  }
  ops_->linear_backward(din, G + w_off, G + b_off, dout, in, W, N, in_f, out_f, accumulate_din);
}

template class Bert<float>;
template class Bert<double>;

}  // namespace bertrain
