// Hugging Face's (slow) BertTokenizer: BasicTokenizer (clean, CJK spacing, NFC, lower-casing,
// accent stripping, punctuation splitting) + WordPiece (greedy longest match, "##"
// continuations), special tokens, pair encoding, longest_first truncation and padding.
// The exact rules are in ../shared/fixtures/tokenizer/README.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tokenizer/vocab.h"

namespace bertrain {

struct TokenizerOptions {
  bool lowercase = true;
  std::optional<bool> strip_accents;  // unset: follow lowercase (HF's None)
  bool tokenize_chinese_chars = true;
  int max_input_chars_per_word = 100;
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
  std::string continuing_prefix = "##";
  int model_max_length = 0;  // tokenizer_config.json's limit on sequence length; 0: none
};

enum class Padding { None, Longest, MaxLength };
Padding parse_padding(const std::string& name);

struct Encoding {
  std::vector<std::string> tokens;  // aligned with input_ids, special tokens included
  std::vector<int32_t> input_ids, token_type_ids, attention_mask;
};

class BertTokenizer {
 public:
  BertTokenizer(Vocab vocab, TokenizerOptions options, const std::string& source);

  // tokenizer.tokenize(text): word pieces without special tokens.
  std::vector<std::string> tokenize(const std::string& text) const;
  int32_t id_of(const std::string& token) const;
  std::vector<int32_t> ids_of(const std::vector<std::string>& tokens) const;

  // tokenizer(text, text_pair, truncation=..., max_length=..., padding="max_length"|none).
  // max_length <= 0 means no limit. Padding::Longest pads nothing here (a single encoding is
  // its own longest); use pad_to() across a batch.
  Encoding encode(const std::string& text, const std::string* text_pair, int max_length,
                  bool truncation, Padding padding) const;
  void pad_to(Encoding& e, size_t length) const;

  const Vocab& vocab() const { return vocab_; }
  const TokenizerOptions& options() const { return options_; }
  int pad_id() const { return pad_id_; }
  int cls_id() const { return cls_id_; }
  int sep_id() const { return sep_id_; }

 private:
  void basic_tokenize(const std::u32string& text, std::vector<std::u32string>& words) const;
  void wordpiece(const std::u32string& word, std::vector<std::string>& out) const;

  Vocab vocab_;
  TokenizerOptions options_;
  std::vector<std::string> specials_;
  int unk_id_, cls_id_, sep_id_, pad_id_;
};

// A tokenizer from vocab.txt (BERT uncased defaults unless told), a tokenizer.json (its
// BertNormalizer settings and WordPiece vocab), or a model directory as the Hub has it:
// tokenizer.json or else vocab.txt, then tokenizer_config.json (do_lower_case, strip_accents,
// tokenize_chinese_chars, model_max_length, special tokens) and special_tokens_map.json on
// top, as transformers' AutoTokenizer reads them. `lowercase` overrides all of them.
BertTokenizer load_tokenizer(const std::string& path, std::optional<bool> lowercase = {});

// run_glue's max_seq_length = min(requested, tokenizer.model_max_length); `note` gets the
// warning run_glue logs when the requested length is cut.
int fit_max_length(const BertTokenizer& tok, int requested, std::string* note);

}  // namespace bertrain
