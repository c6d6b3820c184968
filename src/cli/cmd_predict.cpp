// bertrain predict: text in (a line each, or JSON lines with "text"/"text_pair"), one JSON
// line out per input with the label, its id and the class probabilities; and train's
// --do_predict stage over a data file.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/stages.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/parallel.h"
#include "device/cuda_device.h"
#include "model/checkpoint.h"
#include "train/inference.h"

namespace bertrain::cli {

namespace {

using nlohmann::json;

struct PredictOptions {
  std::string model, input, tokenizer;
  int batch_size = 32, max_length = 512, threads = 0, doc_stride = 128;
  std::string device = "cpu";
  bool bf16 = false;
};

TextInput parse_input(const std::string& line, const std::string& source, size_t line_no) {
  if (line.empty() || line[0] != '{') return {line, "", false};
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    fail(source, ":", line_no, ": starts with '{' but is not valid JSON (", e.what(), ")");
  }
  auto t = j.find("text");
  if (t == j.end() || !t->is_string())
    fail(source, ":", line_no, ": JSON input needs a string \"text\"");
  TextInput in{t->get<std::string>(), "", false};
  auto p = j.find("text_pair");
  if (p != j.end() && p->is_string()) {
    in.pair = p->get<std::string>();
    in.has_pair = true;
  }
  return in;
}

// What one input's line says, by the problem type: the class with its id and the
// probabilities; the regression value (values, with several outputs); or the labels whose
// probability reaches 0.5 with those probabilities, and every label's.
json prediction_json(ProblemType problem, const std::vector<std::string>& names,
                     const Prediction& p) {
  switch (problem) {
    case ProblemType::Regression:
      return p.outputs.size() == 1 ? json{{"value", p.outputs[0]}} : json{{"values", p.outputs}};
    case ProblemType::MultiLabel: {
      json labels = json::array(), scores = json::array();
      for (size_t k = 0; k < p.outputs.size(); ++k)
        if (p.outputs[k] >= 0.5f) {
          labels.push_back(names[k]);
          scores.push_back(p.outputs[k]);
        }
      return {{"labels", labels}, {"scores", scores}, {"probabilities", p.outputs}};
    }
    case ProblemType::SingleLabel:
      break;
  }
  return {{"label", names[p.label_id]}, {"label_id", p.label_id}, {"probabilities", p.outputs}};
}

json parse_json_line(const std::string& line, const std::string& source, size_t line_no) {
  try {
    return json::parse(line);
  } catch (const json::exception& e) {
    fail(source, ":", line_no, ": not valid JSON (", e.what(), ")");
  }
}

// Token classification: a line of text, or JSON {"text"} or {"tokens": [words]}; out, the
// entities with their character spans and scores, and every word's tag.
TagInput parse_tag_input(const std::string& line, const std::string& source, size_t line_no) {
  if (line.empty() || line[0] != '{') return {line, {}};
  const json j = parse_json_line(line, source, line_no);
  if (j.contains("tokens") && j["tokens"].is_array()) {
    TagInput in;
    for (const json& w : j["tokens"]) {
      if (!w.is_string()) fail(source, ":", line_no, ": \"tokens\" must hold strings");
      in.words.push_back(w.get<std::string>());
    }
    return in;
  }
  if (!j.contains("text") || !j["text"].is_string())
    fail(source, ":", line_no, ": JSON input needs a string \"text\" or a list \"tokens\"");
  return {j["text"].get<std::string>(), {}};
}

json tag_json(const TagPrediction& p) {
  json entities = json::array();
  for (const TaggedEntity& e : p.entities)
    entities.push_back({{"entity_group", e.type},
                        {"score", e.score},
                        {"word", e.text},
                        {"start", e.start},
                        {"end", e.end}});
  return {{"entities", entities}, {"words", p.words}, {"tags", p.tags}, {"scores", p.scores}};
}

QaExample parse_question(const std::string& line, const std::string& source, size_t line_no) {
  const json j = parse_json_line(line, source, line_no);
  for (const char* key : {"question", "context"})
    if (!j.is_object() || !j.contains(key) || !j[key].is_string())
      fail(source, ":", line_no, ": question answering takes {\"question\", \"context\"}");
  QaExample e;
  e.question = j["question"].get<std::string>();
  e.context = j["context"].get<std::string>();
  return e;
}

// Reads the input's lines into batches of `batch`, parse(line, source, line number) each, and
// prints what emit(batch) returns for each batch.
template <typename Input, typename Parse, typename Emit>
void in_batches(const PredictOptions& o, int batch, Parse parse, Emit emit) {
  InputLines input(o.input);
  std::vector<Input> pending;
  auto flush = [&] {
    std::cout << emit(pending) << std::flush;
    pending.clear();
  };
  for (std::string line; input.next(line);) {
    pending.push_back(parse(line, input.source(), input.line_number()));
    if (static_cast<int>(pending.size()) == batch) flush();
  }
  flush();
}

void run_predict(const PredictOptions& o) {
  set_num_threads(o.threads);
  BertConfig config = load_config((std::filesystem::path(o.model) / "config.json").string());
  if (config.task == Task::MaskedLM) load_classification_config(o.model);  // names the head
  Bert<float> model(config, device_named(o.device), /*with_grads=*/false);
  load_weights(model, o.model);
  if (o.bf16) model.set_precision(Precision::BF16);
  BertTokenizer tok = load_tokenizer(o.tokenizer.empty() ? o.model : o.tokenizer);
  const int max_len = std::min(o.max_length, config.max_position_embeddings);
  switch (config.task) {
    case Task::TokenClassification:
      return in_batches<TagInput>(
          o, o.batch_size, parse_tag_input, [&](const std::vector<TagInput>& batch) {
            std::string out;
            for (const TagPrediction& p : predict_tags(model, tok, batch, max_len))
              out += tag_json(p).dump() + "\n";
            return out;
          });
    case Task::QuestionAnswering:  // one question (all its windows) at a time
      return in_batches<QaExample>(o, 1, parse_question, [&](const std::vector<QaExample>& batch) {
        std::string out;
        for (const QaExample& e : batch) {
          const QaAnswer a = predict_answer(model, tok, e, max_len, o.doc_stride);
          out += json{{"answer", a.text},
                      {"start", a.start_char},
                      {"end", a.end_char},
                      {"score", a.score}}
                     .dump() +
                 "\n";
        }
        return out;
      });
    default:
      return in_batches<TextInput>(
          o, o.batch_size, parse_input, [&](const std::vector<TextInput>& batch) {
            std::string out;
            for (const Prediction& p : predict_texts(model, tok, batch, max_len))
              out += prediction_json(model.problem(), config.id2label, p).dump() + "\n";
            return out;
          });
  }
}

// predict_results.txt's prediction column, by the problem type.
std::string prediction_text(ProblemType problem, const std::vector<std::string>& names,
                            const Prediction& p) {
  switch (problem) {
    case ProblemType::Regression: {
      std::string s;
      for (float v : p.outputs) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.3f", s.empty() ? "" : ",", static_cast<double>(v));
        s += buf;
      }
      return s;
    }
    case ProblemType::MultiLabel:
      return prediction_json(problem, names, p)["labels"].dump();
    case ProblemType::SingleLabel:
      break;
  }
  return names[p.label_id];
}

}  // namespace

std::string predict_file(const TrainingArguments& a, const std::string& model_dir) {
  BertConfig config = load_classification_config(model_dir);
  Bert<float> model(config, device_named(a.device), /*with_grads=*/false);
  load_weights(model, model_dir);
  model.set_precision(precision_of(a));
  BertTokenizer tok = load_tokenizer(a.tokenizer.empty() ? model_dir : a.tokenizer);
  const int max_len = std::min(a.max_seq_length, config.max_position_embeddings);
  const std::vector<Example> examples = read_examples(a.test_file, a.reader).examples;
  std::string out = "index\tprediction\n";
  const size_t batch = static_cast<size_t>(std::max(1, a.per_device_eval_batch_size));
  for (size_t begin = 0; begin < examples.size(); begin += batch) {
    std::vector<TextInput> inputs;
    for (size_t i = begin; i < std::min(examples.size(), begin + batch); ++i)
      inputs.push_back({examples[i].text, examples[i].text_pair, examples[i].has_pair});
    const std::vector<Prediction> preds = predict_texts(model, tok, inputs, max_len);
    for (size_t k = 0; k < preds.size(); ++k)
      out += std::to_string(begin + k) + "\t" +
             prediction_text(model.problem(), config.id2label, preds[k]) + "\n";
  }
  std::filesystem::create_directories(a.output_dir);
  const std::string path = (std::filesystem::path(a.output_dir) / "predict_results.txt").string();
  write_text_file_atomic(path, out);
  std::printf("***** Predict results *****\n%zu predictions of %s written to %s\n", examples.size(),
              a.test_file.c_str(), path.c_str());
  return path;
}

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Classify texts, tag their entities, or answer questions (by the model's head): a line "
      "each (or JSON lines) in, JSON lines out");
  cmd->add_option("--model", o->model, "Fine-tuned model directory")->required();
  cmd->add_option("--input", o->input, "Input file (default: stdin)");
  cmd->add_option(flag("tokenizer"), o->tokenizer, "Tokenizer (default: the model's)");
  cmd->add_option(flag("batch_size") + "," + flag("per_device_eval_batch_size"), o->batch_size,
                  "Batch size")
      ->capture_default_str();
  cmd->add_option(flag("max_seq_length"), o->max_length, "Truncate inputs to this many tokens")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Compute threads (0: OpenMP default)");
  cmd->add_option(flag("doc_stride"), o->doc_stride,
                  "Question answering: tokens a context window repeats from the one before")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu | cuda | auto (a GPU if one is visible)");
  cmd->add_flag("--bf16{true}", o->bf16,
                "bf16 weights and activations (bf16 GEMMs on AMX/AVX512-BF16)");
  cmd->callback([o] { run_predict(*o); });
}

}  // namespace bertrain::cli
