// bertrain tokenize: JSON lines {"text": ..., "text_pair": ...} in, one JSON line per input out
// with tokens, input_ids, token_type_ids, attention_mask — tokenizer(text, text_pair, ...).
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "cli/args.h"
#include "core/error.h"
#include "tokenizer/bert_tokenizer.h"

namespace bertrain::cli {

namespace {

using nlohmann::json;

struct TokenizeOptions {
  std::string vocab, tokenizer, input, padding = "none";
  int max_length = 0;
  bool truncation = false;
  std::optional<bool> lowercase;
};

struct Request {
  std::string text, pair;
  bool has_pair = false;
};

Request parse_request(const std::string& line, const std::string& source, size_t line_no) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    fail(source, ":", line_no, ": not valid JSON (", e.what(), ")");
  }
  auto text = j.is_object() ? j.find("text") : j.end();
  if (!j.is_object() || text == j.end() || !text->is_string())
    fail(source, ":", line_no, ": expected an object with a string \"text\"");
  Request r{text->get<std::string>(), "", false};
  auto pair = j.find("text_pair");
  if (pair != j.end() && !pair->is_null()) {
    if (!pair->is_string()) fail(source, ":", line_no, ": \"text_pair\" must be a string or null");
    r.pair = pair->get<std::string>();
    r.has_pair = true;
  }
  return r;
}

void run_tokenize(const TokenizeOptions& o) {
  if (o.vocab.empty() == o.tokenizer.empty())
    fail("tokenize: give exactly one of --vocab or --tokenizer");
  BertTokenizer tok = load_tokenizer(o.vocab.empty() ? o.tokenizer : o.vocab, o.lowercase);
  Padding padding = parse_padding(o.padding);
  if (padding == Padding::MaxLength && o.max_length <= 0)
    fail("tokenize: --padding max_length needs --max_length");
  if (o.truncation && o.max_length <= 0) fail("tokenize: --truncation needs --max_length");

  InputLines input(o.input);
  std::vector<Request> requests;
  for (std::string line; input.next(line);) {
    if (line.empty()) continue;
    requests.push_back(parse_request(line, input.source(), input.line_number()));
  }
  // Encode in parallel; write in input order.
  std::vector<Encoding> out(requests.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    out[i] =
        tok.encode(r.text, r.has_pair ? &r.pair : nullptr, o.max_length, o.truncation, padding);
  }
  if (padding == Padding::Longest) {  // the whole input is one batch, as one HF call would be
    size_t longest = 0;
    for (const Encoding& e : out) longest = std::max(longest, e.input_ids.size());
    for (Encoding& e : out) tok.pad_to(e, longest);
  }
  std::string buffer;
  for (const Encoding& e : out) {
    json j = {{"tokens", e.tokens},
              {"input_ids", e.input_ids},
              {"token_type_ids", e.token_type_ids},
              {"attention_mask", e.attention_mask}};
    buffer += j.dump();
    buffer += '\n';
    if (buffer.size() > (1 << 20)) {
      std::cout << buffer;
      buffer.clear();
    }
  }
  std::cout << buffer << std::flush;
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd =
      app.add_subcommand("tokenize", "Tokenize JSON lines as Hugging Face's BertTokenizer does");
  cmd->add_option("--vocab", o->vocab, "vocab.txt");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json or a model directory");
  cmd->add_option("--input", o->input, "JSON lines file (default: stdin)");
  cmd->add_option(flag("max_length"), o->max_length,
                  "Maximum length (with --truncation / padding)");
  cmd->add_option("--padding", o->padding, "max_length | longest | none")->capture_default_str();
  cmd->add_flag("--truncation", o->truncation, "Truncate (longest_first) to --max_length");
  cmd->add_option(flag("do_lower_case"), o->lowercase, "Override lower-casing (true/false)");
  cmd->callback([o] { run_tokenize(*o); });
}

}  // namespace bertrain::cli
