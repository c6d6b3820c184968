// bertrain tokenize: JSON lines {"text": ..., "text_pair": ...} in, one JSON line per input out
// with tokens, input_ids, token_type_ids, attention_mask — tokenizer(text, text_pair, ...) —
// and on request the fast tokenizer's offset_mapping, word_ids and sequence_ids, words
// (is_split_into_words) and overflowing windows (one line per window).
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
  std::string truncation;  // empty: none; longest_first | only_second
  std::optional<bool> lowercase;
  bool offsets = false, word_ids = false, split_into_words = false, overflowing = false;
  int stride = 0;
};

struct Request {
  std::string text, pair;
  std::vector<std::string> words, pair_words;  // is_split_into_words
  bool has_pair = false;
};

// A "text" or "text_pair" field: a string, or with is_split_into_words an array of strings.
void read_field(const json& v, bool words, std::string& text, std::vector<std::string>& list,
                const std::string& where, const char* name) {
  if (!words) {
    if (!v.is_string()) fail(where, ": \"", name, "\" must be a string");
    text = v.get<std::string>();
    return;
  }
  if (!v.is_array())
    fail(where, ": \"", name, "\" must be an array of words (--is_split_into_words)");
  for (const json& w : v) {
    if (!w.is_string()) fail(where, ": \"", name, "\" holds a non-string word");
    list.push_back(w.get<std::string>());
  }
}

Request parse_request(const std::string& line, const std::string& source, size_t line_no,
                      bool words) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    fail(source, ":", line_no, ": not valid JSON (", e.what(), ")");
  }
  const std::string where = source + ":" + std::to_string(line_no);
  auto text = j.is_object() ? j.find("text") : j.end();
  if (!j.is_object() || text == j.end())
    fail(where, ": expected an object with a ", words ? "list of words" : "string", " \"text\"");
  Request r;
  read_field(*text, words, r.text, r.words, where, "text");
  auto pair = j.find("text_pair");
  if (pair != j.end() && !pair->is_null()) {
    read_field(*pair, words, r.pair, r.pair_words, where, "text_pair");
    r.has_pair = true;
  }
  return r;
}

// One request's encodings: one, or its windows with --return_overflowing_tokens.
std::vector<Encoding> encode_request(const BertTokenizer& tok, const TokenizeOptions& o,
                                     const Request& r, Padding padding) {
  auto pieces = [&](const std::string& text, const std::vector<std::string>& words) {
    return o.split_into_words ? tok.word_pieces(words) : tok.pieces(text);
  };
  std::vector<Piece> a = pieces(r.text, r.words), b;
  if (r.has_pair) b = pieces(r.pair, r.pair_words);
  if (o.overflowing) {
    if (r.has_pair && o.truncation != "only_second")
      fail("--return_overflowing_tokens over pairs needs --truncation=only_second");
    return tok.windows(a, r.has_pair ? &b : nullptr, o.max_length, o.stride, padding);
  }
  if (r.has_pair && o.truncation == "only_second")
    return {tok.windows(a, &b, o.max_length, 0, padding).front()};
  return {tok.assemble(std::move(a), r.has_pair ? &b : nullptr, o.max_length, !o.truncation.empty(),
                       padding)};
}

void run_tokenize(const TokenizeOptions& o) {
  if (o.vocab.empty() == o.tokenizer.empty())
    fail("tokenize: give exactly one of --vocab or --tokenizer");
  BertTokenizer tok = load_tokenizer(o.vocab.empty() ? o.tokenizer : o.vocab, o.lowercase);
  Padding padding = parse_padding(o.padding);
  if (padding == Padding::MaxLength && o.max_length <= 0)
    fail("tokenize: --padding max_length needs --max_length");
  if (!o.truncation.empty() && o.max_length <= 0) fail("tokenize: --truncation needs --max_length");
  if (!o.truncation.empty() && o.truncation != "longest_first" && o.truncation != "only_second")
    fail("tokenize: --truncation must be longest_first or only_second, got \"", o.truncation, "\"");
  if (o.overflowing && o.truncation.empty())
    fail("tokenize: --return_overflowing_tokens needs --truncation and --max_length");

  InputLines input(o.input);
  std::vector<Request> requests;
  for (std::string line; input.next(line);) {
    if (line.empty()) continue;
    requests.push_back(
        parse_request(line, input.source(), input.line_number(), o.split_into_words));
  }
  // Encode in parallel; write in input order. An error is reported for the first input it
  // concerns, as a serial run would.
  std::vector<std::vector<Encoding>> out(requests.size());
  std::vector<std::string> errors(requests.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < requests.size(); ++i) {
    try {
      out[i] = encode_request(tok, o, requests[i], padding);
    } catch (const Error& e) {
      errors[i] = e.what();
    }
  }
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty()) fail(input.source(), ": input ", i + 1, ": ", errors[i]);
  if (padding == Padding::Longest) {  // the whole input is one batch, as one HF call would be
    size_t longest = 0;
    for (const auto& encs : out)
      for (const Encoding& e : encs) longest = std::max(longest, e.input_ids.size());
    for (auto& encs : out)
      for (Encoding& e : encs) tok.pad_to(e, longest);
  }
  auto nullable = [](const std::vector<int32_t>& v) {
    json a = json::array();
    for (int32_t x : v) a.push_back(x < 0 ? json(nullptr) : json(x));
    return a;
  };
  std::string buffer;
  for (size_t i = 0; i < out.size(); ++i)
    for (const Encoding& e : out[i]) {
      json j = {{"tokens", e.tokens},
                {"input_ids", e.input_ids},
                {"token_type_ids", e.token_type_ids},
                {"attention_mask", e.attention_mask}};
      if (o.offsets) j["offset_mapping"] = e.offsets;
      if (o.word_ids) {
        j["word_ids"] = nullable(e.word_ids);
        j["sequence_ids"] = nullable(e.sequence_ids);
      }
      if (o.overflowing) j["overflow_to_sample_mapping"] = i;
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
  cmd->add_flag(
      "--truncation{longest_first}", o->truncation,
      "Truncate to --max_length: longest_first (the default) or --truncation=only_second");
  cmd->add_flag(flag("return_offsets_mapping"), o->offsets,
                "Add offset_mapping: each token's [start, end) in characters of its text");
  cmd->add_flag(flag("return_word_ids"), o->word_ids,
                "Add word_ids and sequence_ids (null for special tokens and padding)");
  cmd->add_flag(flag("is_split_into_words"), o->split_into_words,
                "\"text\" (and \"text_pair\") are arrays of words; offsets are within each word");
  cmd->add_flag(flag("return_overflowing_tokens"), o->overflowing,
                "Cut a long input into windows of --max_length, a line each, with "
                "overflow_to_sample_mapping");
  cmd->add_option("--stride", o->stride, "Tokens a window repeats from the one before")
      ->capture_default_str();
  cmd->add_option(flag("do_lower_case"), o->lowercase, "Override lower-casing (true/false)");
  cmd->callback([o] { run_tokenize(*o); });
}

}  // namespace bertrain::cli
