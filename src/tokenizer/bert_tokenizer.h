// Hugging Face's (slow) BertTokenizer: BasicTokenizer (clean, CJK spacing, NFC, lower-casing,
// accent stripping, punctuation splitting) + WordPiece (greedy longest match, "##"
// continuations), special tokens, pair encoding, longest_first truncation and padding.
// The exact rules are in ../shared/fixtures/tokenizer/README.md. Like the fast tokenizer it
// also gives each token its character offsets, word id and sequence id, takes words
// (is_split_into_words), and cuts a long text into overlapping windows (stride).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <utility>
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
  // Per token, as the fast tokenizer's offset_mapping, word_ids() and sequence_ids() give them:
  // the span [begin, end) of input characters (Unicode code points) it came from, (0, 0) for
  // special tokens and padding; the index of its word in its text (-1: none); and which text
  // it came from (0 or 1; -1: none).
  std::vector<std::pair<int32_t, int32_t>> offsets;
  std::vector<int32_t> word_ids, sequence_ids;
};

// A token of one text before the special tokens are added: its character span in the text (in
// the word, for words given one by one) and its word's index.
struct Piece {
  std::string token;
  int32_t begin, end, word;
};

struct AlignedText;  // text being normalised, aligned to the input (bert_tokenizer.cpp)

class BertTokenizer {
 public:
  BertTokenizer(Vocab vocab, TokenizerOptions options, const std::string& source);

  // tokenizer.tokenize(text): word pieces without special tokens.
  std::vector<std::string> tokenize(const std::string& text) const;
  // The same with each piece's offsets and word id (words numbered from first_word).
  std::vector<Piece> pieces(const std::string& text, int32_t first_word = 0) const;
  // is_split_into_words: each word tokenized on its own, offsets within the word, word ids the
  // words' indices.
  std::vector<Piece> word_pieces(const std::vector<std::string>& words) const;
  int32_t id_of(const std::string& token) const;
  std::vector<int32_t> ids_of(const std::vector<std::string>& tokens) const;

  // tokenizer(text, text_pair, truncation=..., max_length=..., padding="max_length"|none).
  // max_length <= 0 means no limit. Padding::Longest pads nothing here (a single encoding is
  // its own longest); use pad_to() across a batch.
  Encoding encode(const std::string& text, const std::string* text_pair, int max_length,
                  bool truncation, Padding padding) const;
  // encode() from pieces (of a text or of words).
  Encoding assemble(std::vector<Piece> a, const std::vector<Piece>* pair, int max_length,
                    bool truncation, Padding padding) const;
  // return_overflowing_tokens with a stride: with `second`, truncation="only_second" (the
  // first whole in every window, the second cut); else the one sequence cut. Windows of at
  // most max_length tokens, each starting `stride` tokens before the previous one's end, the
  // last one reaching the end (the fast tokenizer's Encoding::truncate). Fails clearly when
  // the first sequence leaves no room or the stride is not below the window.
  std::vector<Encoding> windows(const std::vector<Piece>& first, const std::vector<Piece>* second,
                                int max_length, int stride, Padding padding) const;
  void pad_to(Encoding& e, size_t length) const;

  const Vocab& vocab() const { return vocab_; }
  const TokenizerOptions& options() const { return options_; }
  int pad_id() const { return pad_id_; }
  int cls_id() const { return cls_id_; }
  int sep_id() const { return sep_id_; }

 private:
  void basic_tokenize(const AlignedText& text, AlignedText& out,
                      std::vector<std::pair<size_t, size_t>>& words) const;
  void wordpiece(const AlignedText& text, size_t b, size_t e, int32_t word_id,
                 std::vector<Piece>& out) const;
  Encoding join(std::span<const Piece> a, const std::span<const Piece>* b) const;

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
