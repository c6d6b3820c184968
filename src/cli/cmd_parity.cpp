// bertrain parity: run the engine on a fixed batch and write every number a PyTorch
// reference can be compared with (the names of ../shared/fixtures/bert_tiny/expected.safetensors).
#include <filesystem>
#include <iostream>
#include <vector>

#include "cli/args.h"
#include "core/error.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "train/train_step.h"

namespace bertrain::cli {

namespace {

struct ParityOptions {
  std::string model, inputs, out;
  int train_steps = 0;
  double learning_rate = 5e-5, weight_decay = 0.0, max_grad_norm = 1.0;
  int accumulation = 1;
  uint64_t seed = 42;
};

struct Inputs {
  std::vector<int32_t> ids, types, mask;
  std::vector<int32_t> labels;  // as the model reads them (core/batch.h), per_row a row
  std::vector<float> targets;   // or float labels [B, L]
  int B = 0, S = 0, L = 0, per_row = 1;
  Batch rows(int begin, int count) const {
    size_t off = static_cast<size_t>(begin) * S;
    Batch b{ids.data() + off, types.data() + off, mask.data() + off, nullptr, count, S};
    if (targets.empty())
      b.labels = labels.data() + static_cast<size_t>(begin) * per_row;
    else
      b.targets = targets.data() + static_cast<size_t>(begin) * L;
    return b;
  }
};

// The labels as the model's problem type takes them: class ids [B] (any integer dtype), or
// float labels [B] / [B, L] (regression with one label may drop the last dimension).
void read_labels(const SafetensorsReader& f, const std::string& path, const BertConfig& c,
                 Inputs& in) {
  in.L = c.num_labels();
  if (c.task == Task::QuestionAnswering) {  // start_positions and end_positions [B]
    std::vector<int32_t> start(in.B), end(in.B);
    f.read_into("start_positions", {in.B}, start.data(), DType::I32);
    f.read_into("end_positions", {in.B}, end.data(), DType::I32);
    for (int b = 0; b < in.B; ++b) in.labels.insert(in.labels.end(), {start[b], end[b]});
    in.per_row = 2;
    return;
  }
  if (c.task != Task::SequenceClassification) {  // a class id per position, [B, S]
    in.per_row = in.S;
    in.labels.resize(static_cast<size_t>(in.B) * in.S);
    f.read_into("labels", {in.B, in.S}, in.labels.data(), DType::I32);
    return;
  }
  if (c.problem() == ProblemType::SingleLabel) {
    in.labels.resize(in.B);
    f.read_into("labels", {in.B}, in.labels.data(), DType::I32);
    return;
  }
  const Shape& shape = f.info("labels").shape;
  const bool flat = shape == Shape{in.B} && in.L == 1;
  if (!flat && shape != Shape{in.B, in.L})
    fail(path, ": tensor \"labels\" of a ", problem_type_name(c.problem()), " model must be [",
         in.B, ", ", in.L, "], got ", shape_str(shape));
  in.targets.resize(static_cast<size_t>(in.B) * in.L);
  f.read_into("labels", shape, in.targets.data(), DType::F32);
}

Inputs read_inputs(const std::string& path, const BertConfig& c) {
  SafetensorsReader f(path);
  const Shape& shape = f.info("input_ids").shape;
  if (shape.size() != 2)
    fail(path, ": tensor \"input_ids\" must be 2-D [batch, seq], got ", shape_str(shape));
  Inputs in;
  in.B = static_cast<int>(shape[0]);
  in.S = static_cast<int>(shape[1]);
  size_t n = static_cast<size_t>(in.B) * in.S;
  in.ids.resize(n);
  in.types.resize(n);
  in.mask.resize(n);
  f.read_into("input_ids", shape, in.ids.data(), DType::I32);
  f.read_into("attention_mask", shape, in.mask.data(), DType::I32);
  f.read_into("token_type_ids", shape, in.types.data(), DType::I32);
  read_labels(f, path, c, in);
  return in;
}

// Owns host copies of the outputs until they are written: results in the device's memory
// (add) or the host's (add_host).
struct OutputSet {
  const Device& device;
  std::vector<std::vector<float>> storage{};
  std::vector<TensorView> views{};
  void add(const std::string& name, Shape shape, const float* data) {
    storage.emplace_back(shape_numel(shape));
    device.f32->download(storage.back().data(), data, storage.back().size() * sizeof(float));
    views.push_back({name, DType::F32, std::move(shape), storage.back().data()});
  }
  void add_host(const std::string& name, Shape shape, const float* data) {
    storage.emplace_back(data, data + shape_numel(shape));
    views.push_back({name, DType::F32, std::move(shape), storage.back().data()});
  }
};

void run_parity(const ParityOptions& o) {
  BertConfig c = load_config((std::filesystem::path(o.model) / "config.json").string());
  // Torch's dropout stream cannot be reproduced, so parity runs with dropout off (as the
  // reference fixtures do).
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.0;
  c.classifier_dropout = 0.0;
  Bert<float> model(c);
  load_weights(model, o.model);
  Inputs in = read_inputs(o.inputs, c);
  const int B = in.B, S = in.S, H = c.hidden_size, L = c.num_labels();

  OutputSet out{model.device()};
  model.set_mlm_all_positions(true);  // the logits of every position
  model.zero_grads();
  double loss = model.forward(in.rows(0, B), /*training=*/false, 0);
  model.backward(1.0);
  float loss_f = static_cast<float>(loss);
  switch (c.task) {
    case Task::SequenceClassification:
      out.add("logits", {B, L}, model.logits());
      out.add("pooled_output", {B, H}, model.pooled_output());
      break;
    case Task::TokenClassification:
      out.add("logits", {B, S, L}, model.logits());
      break;
    case Task::MaskedLM:
      out.add("logits", {B, S, c.vocab_size}, model.logits());
      break;
    case Task::QuestionAnswering:
      out.add("start_logits", {B, S}, model.logits());
      out.add("end_logits", {B, S}, model.logits() + static_cast<size_t>(B) * S);
      break;
  }
  out.add_host("loss", {1}, &loss_f);
  for (int k = 0; k <= c.num_hidden_layers; ++k)
    out.add("hidden_states." + std::to_string(k), {B, S, H}, model.hidden_state(k));
  for (const ParamSpec& p : model.layout().params())
    out.add("grad." + p.name, p.shape, model.grads() + p.offset);

  if (o.train_steps > 0) {
    const int K = o.accumulation;
    if (K <= 0 || B % K != 0)
      fail("--gradient_accumulation_steps ", K, " must divide the batch size ", B);
    std::vector<Batch> micro;
    for (int k = 0; k < K; ++k) micro.push_back(in.rows(k * (B / K), B / K));
    AdamW<float> opt(model.layout(), {o.learning_rate, 0.9, 0.999, 1e-8, o.weight_decay},
                     model.device());
    LrSchedule sched{ScheduleType::Linear, o.learning_rate, 0, o.train_steps};
    std::vector<float> losses, norms, lrs, micro_losses;
    for (int s = 0; s < o.train_steps; ++s) {
      StepResult r = train_step(model, opt, sched, micro, o.max_grad_norm, o.seed);
      losses.push_back(static_cast<float>(r.loss));
      norms.push_back(static_cast<float>(r.grad_norm));
      lrs.push_back(static_cast<float>(r.lr));
      for (double m : r.microbatch_losses) micro_losses.push_back(static_cast<float>(m));
    }
    const int64_t n = o.train_steps;
    out.add_host("trajectory.loss", {n}, losses.data());
    out.add_host("trajectory.grad_norm", {n}, norms.data());
    out.add_host("trajectory.lr", {n}, lrs.data());
    out.add_host("trajectory.microbatch_loss", {n, K}, micro_losses.data());
    for (const ParamSpec& p : model.layout().params())
      out.add("final." + p.name, p.shape, model.params() + p.offset);
  }
  save_safetensors(o.out, out.views);
  std::cout << "wrote " << o.out << " (" << out.views.size() << " tensors); loss " << loss << "\n";
}

}  // namespace

void add_parity_command(CLI::App& app) {
  auto o = std::make_shared<ParityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "parity", "Run a fixed batch and write logits, hidden states, grads and a trajectory");
  cmd->add_option("--model", o->model, "HF model directory")->required();
  cmd->add_option("--inputs", o->inputs,
                  "safetensors with input_ids, attention_mask, token_type_ids, labels")
      ->required();
  cmd->add_option("--out", o->out, "Output safetensors file")->required();
  cmd->add_option(flag("train_steps"), o->train_steps, "Optimizer steps on the same batch")
      ->capture_default_str();
  cmd->add_option(flag("learning_rate"), o->learning_rate, "Peak LR (linear decay to 0)")
      ->capture_default_str();
  cmd->add_option(flag("weight_decay"), o->weight_decay, "AdamW weight decay")
      ->capture_default_str();
  cmd->add_option(flag("gradient_accumulation_steps"), o->accumulation,
                  "Micro-batches per step (equal row splits)")
      ->capture_default_str();
  cmd->add_option(flag("max_grad_norm"), o->max_grad_norm, "Global-norm clip (0: off)")
      ->capture_default_str();
  cmd->callback([o] { run_parity(*o); });
}

}  // namespace bertrain::cli
