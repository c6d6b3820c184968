#include "tokenizer/bert_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "tokenizer/unicode.h"

namespace bertrain {

namespace u = unicode;

Padding parse_padding(const std::string& name) {
  if (name == "max_length") return Padding::MaxLength;
  if (name == "longest") return Padding::Longest;
  if (name == "none" || name == "do_not_pad") return Padding::None;
  fail("unknown padding \"", name, "\"; expected max_length, longest or none");
}

BertTokenizer::BertTokenizer(Vocab vocab, TokenizerOptions options, const std::string& source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  unk_id_ = vocab_.require(options_.unk, source);
  cls_id_ = vocab_.require(options_.cls, source);
  sep_id_ = vocab_.require(options_.sep, source);
  pad_id_ = vocab_.require(options_.pad, source);
  specials_ = {options_.pad, options_.unk, options_.cls, options_.sep};
  if (vocab_.find(options_.mask) >= 0) specials_.push_back(options_.mask);
}

// Text being normalised: each character with the span of input characters it came from, as the
// fast tokenizer's NormalizedString aligns them (the offsets are in characters of the input).
struct AlignedText {
  std::u32string chars;
  std::vector<int32_t> begin, end;
  void push(char32_t c, int32_t b, int32_t e) {
    chars.push_back(c);
    begin.push_back(b);
    end.push_back(e);
  }
  void push_from(const AlignedText& from, size_t i, char32_t c) {
    push(c, from.begin[i], from.end[i]);
  }
  size_t size() const { return chars.size(); }
  void clear() {
    chars.clear();
    begin.clear();
    end.clear();
  }
};

namespace {

using Aligned = AlignedText;

// NFC of one word, aligned: a starter and the marks after it that compose into fewer characters
// map to the span of them all. (With accent stripping the tokenizer needs no NFC: NFD of the NFC
// is the NFD.)
Aligned nfc_aligned(const Aligned& w) {
  std::u32string whole = u::nfc(w.chars);
  if (whole == w.chars) return w;
  Aligned out;
  for (size_t s = 0; s < w.size();) {
    size_t e = s + 1;
    while (e < w.size() && !u::is_starter(w.chars[e])) ++e;
    std::u32string seg = u::nfc(w.chars.substr(s, e - s));
    for (size_t k = 0; k < seg.size(); ++k)
      if (seg.size() == e - s)
        out.push_from(w, s + k, seg[k]);
      else
        out.push(seg[k], w.begin[s], w.end[e - 1]);
    s = e;
  }
  if (out.chars != whole) {  // composition across starters (Hangul jamo): the word's span
    out.clear();
    for (char32_t c : whole) out.push(c, w.begin.front(), w.end.back());
  }
  return out;
}

}  // namespace

// Steps 3-6 of the README for one piece of text that holds no special token: its words, as
// ranges of `out` (the normalised characters, each aligned to the input).
void BertTokenizer::basic_tokenize(const AlignedText& text, AlignedText& out,
                                   std::vector<std::pair<size_t, size_t>>& words) const {
  // Clean: drop NUL, U+FFFD and control/format/unassigned chars; whitespace becomes ' '.
  // Then put spaces around CJK ideographs.
  Aligned cleaned;
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text.chars[i];
    if (c == 0 || c == 0xFFFD) continue;
    if (u::is_bert_whitespace(c)) {
      cleaned.push_from(text, i, U' ');
      continue;
    }
    if (u::is_control_category(c)) continue;
    if (options_.tokenize_chinese_chars && u::is_cjk(c)) {
      cleaned.push_from(text, i, U' ');
      cleaned.push_from(text, i, c);
      cleaned.push_from(text, i, U' ');
    } else {
      cleaned.push_from(text, i, c);
    }
  }
  const bool strip = options_.strip_accents.value_or(options_.lowercase);
  size_t i = 0, n = cleaned.size();
  Aligned word, next;
  std::u32string expanded;
  while (i < n) {
    while (i < n && u::is_python_whitespace(cleaned.chars[i])) ++i;
    size_t start = i;
    while (i < n && !u::is_python_whitespace(cleaned.chars[i])) ++i;
    if (start == i) break;
    word.clear();
    for (size_t k = start; k < i; ++k) word.push_from(cleaned, k, cleaned.chars[k]);
    if (!strip) word = nfc_aligned(word);
    if (options_.lowercase || strip) {  // lower-case, then NFD without nonspacing marks
      next.clear();
      for (size_t k = 0; k < word.size(); ++k) {
        const char32_t c = word.chars[k];
        if (c < 0x80) {
          next.push_from(word, k, options_.lowercase && c >= 'A' && c <= 'Z' ? c + 32 : c);
          continue;
        }
        expanded.clear();
        if (options_.lowercase)
          u::append_lower(expanded, c);
        else
          expanded.push_back(c);
        if (strip) expanded = u::nfd(expanded);
        for (char32_t d : expanded)
          if (!strip || !u::is_nonspacing_mark(d)) next.push_from(word, k, d);
      }
      std::swap(word, next);
    }
    // Every punctuation character is a word of its own.
    size_t current = out.size();
    for (size_t k = 0; k < word.size(); ++k) {
      const bool punct = u::is_punctuation(word.chars[k]);
      if (punct && out.size() > current) words.push_back({current, out.size()});
      out.push_from(word, k, word.chars[k]);
      if (punct) words.push_back({out.size() - 1, out.size()});
      if (punct) current = out.size();
    }
    if (out.size() > current) words.push_back({current, out.size()});
  }
}

// WordPiece over one word, characters [b, e) of `text`: its pieces, offsets from the
// alignment, all with word id `word_id`.
void BertTokenizer::wordpiece(const AlignedText& text, size_t b, size_t e, int32_t word_id,
                              std::vector<Piece>& out) const {
  const int32_t word_begin = text.begin[b], word_end = text.end[e - 1];
  if (static_cast<int>(e - b) > options_.max_input_chars_per_word) {
    out.push_back({options_.unk, word_begin, word_end, word_id});
    return;
  }
  // Byte offset of each character, so candidate pieces are substrings of one UTF-8 string.
  std::string utf8;
  std::vector<size_t> offset;
  for (size_t k = b; k < e; ++k) {
    offset.push_back(utf8.size());
    u::append_utf8(utf8, text.chars[k]);
  }
  offset.push_back(utf8.size());
  const size_t first = out.size();
  std::string key;
  size_t start = 0, n = e - b;
  while (start < n) {
    size_t end = n;
    int found = -1;
    while (end > start) {
      key.clear();
      if (start > 0) key = options_.continuing_prefix;
      key.append(utf8, offset[start], offset[end] - offset[start]);
      found = vocab_.find(key);
      if (found >= 0) break;
      --end;
    }
    if (found < 0) {  // no piece fits here: the whole word is unknown
      out.resize(first);
      out.push_back({options_.unk, word_begin, word_end, word_id});
      return;
    }
    out.push_back({key, text.begin[b + start], text.end[b + end - 1], word_id});
    start = end;
  }
}

std::vector<Piece> BertTokenizer::pieces(const std::string& text, int32_t first_word) const {
  std::u32string chars = u::decode_utf8(text);
  // Step 1: lower-case character by character, leaving special-token strings alone.
  // Step 2: split around the special tokens (case-sensitive, after lower-casing the rest).
  std::vector<Piece> out;
  std::vector<std::pair<size_t, size_t>> words;
  Aligned piece, normalized;
  int32_t word_id = first_word;
  std::vector<std::u32string> specials32;
  for (const std::string& s : specials_) specials32.push_back(u::decode_utf8(s));
  auto flush = [&] {
    if (!piece.size()) return;
    words.clear();
    normalized.clear();
    basic_tokenize(piece, normalized, words);
    for (const auto& [b, e] : words) wordpiece(normalized, b, e, word_id++, out);
    piece.clear();
  };
  std::u32string lowered;
  size_t i = 0;
  while (i < chars.size()) {
    const std::u32string* special = nullptr;
    if (chars[i] == U'[') {
      for (const std::u32string& s : specials32)
        if (chars.compare(i, s.size(), s) == 0 && (!special || s.size() > special->size()))
          special = &s;
    }
    const auto at = static_cast<int32_t>(i);
    if (special) {
      flush();
      out.push_back(
          {u::encode_utf8(*special), at, at + static_cast<int32_t>(special->size()), word_id++});
      i += special->size();
    } else {
      if (options_.lowercase && chars[i] < 0x80) {
        const char32_t c = chars[i];
        piece.push(c >= 'A' && c <= 'Z' ? c + 32 : c, at, at + 1);
      } else if (options_.lowercase) {
        lowered.clear();
        u::append_lower(lowered, chars[i]);
        for (char32_t c : lowered) piece.push(c, at, at + 1);
      } else {
        piece.push(chars[i], at, at + 1);
      }
      ++i;
    }
  }
  flush();
  return out;
}

std::vector<Piece> BertTokenizer::word_pieces(const std::vector<std::string>& words) const {
  std::vector<Piece> out;
  for (size_t w = 0; w < words.size(); ++w) {
    std::vector<Piece> p = pieces(words[w]);
    for (Piece& x : p) x.word = static_cast<int32_t>(w);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

std::vector<std::string> BertTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  for (Piece& p : pieces(text)) out.push_back(std::move(p.token));
  return out;
}

int32_t BertTokenizer::id_of(const std::string& token) const {
  int id = vocab_.find(token);
  return id >= 0 ? id : unk_id_;
}

std::vector<int32_t> BertTokenizer::ids_of(const std::vector<std::string>& tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) ids.push_back(id_of(t));
  return ids;
}

Encoding BertTokenizer::encode(const std::string& text, const std::string* text_pair,
                               int max_length, bool truncation, Padding padding) const {
  std::vector<Piece> a = pieces(text), b;
  if (text_pair) b = pieces(*text_pair);
  return assemble(std::move(a), text_pair ? &b : nullptr, max_length, truncation, padding);
}

Encoding BertTokenizer::assemble(std::vector<Piece> a, const std::vector<Piece>* pair,
                                 int max_length, bool truncation, Padding padding) const {
  std::vector<Piece> b = pair ? *pair : std::vector<Piece>{};
  const size_t specials = pair ? 3 : 2;
  if (truncation && max_length > 0 &&
      a.size() + b.size() + specials > static_cast<size_t>(max_length)) {
    size_t excess = a.size() + b.size() + specials - static_cast<size_t>(max_length);
    if (!pair) {
      a.resize(a.size() > excess ? a.size() - excess : 0);
    } else {
      // longest_first: one token at a time from the longer sequence, from B on ties.
      size_t la = a.size(), lb = b.size();
      size_t gap = la > lb ? la - lb : lb - la;
      size_t first = std::min(gap, excess), rest = excess - first;
      size_t cut_a, cut_b;
      if (la > lb) {
        cut_a = first + rest / 2;
        cut_b = rest - rest / 2;
      } else {
        cut_a = rest / 2;
        cut_b = first + (rest - rest / 2);
      }
      a.resize(la > cut_a ? la - cut_a : 0);
      b.resize(lb > cut_b ? lb - cut_b : 0);
    }
  }
  const std::span<const Piece> second(b);
  Encoding e = join(a, pair ? &second : nullptr);
  if (padding == Padding::MaxLength && max_length > 0) pad_to(e, static_cast<size_t>(max_length));
  return e;
}

// [CLS] a [SEP] (b [SEP]), as the fast tokenizer's TemplateProcessing joins them.
Encoding BertTokenizer::join(std::span<const Piece> a, const std::span<const Piece>* b) const {
  Encoding e;
  auto push = [&](const std::string& tok, int id, int type, std::pair<int32_t, int32_t> offsets,
                  int32_t word, int32_t sequence) {
    e.tokens.push_back(tok);
    e.input_ids.push_back(id);
    e.token_type_ids.push_back(type);
    e.attention_mask.push_back(1);
    e.offsets.push_back(offsets);
    e.word_ids.push_back(word);
    e.sequence_ids.push_back(sequence);
  };
  auto push_text = [&](std::span<const Piece> text, int sequence) {
    for (const Piece& p : text)
      push(p.token, id_of(p.token), sequence, {p.begin, p.end}, p.word, sequence);
  };
  push(options_.cls, cls_id_, 0, {0, 0}, -1, -1);
  push_text(a, 0);
  push(options_.sep, sep_id_, 0, {0, 0}, -1, -1);
  if (b) {
    push_text(*b, 1);
    push(options_.sep, sep_id_, 1, {0, 0}, -1, -1);
  }
  return e;
}

std::vector<Encoding> BertTokenizer::windows(const std::vector<Piece>& first,
                                             const std::vector<Piece>* second, int max_length,
                                             int stride, Padding padding) const {
  const std::vector<Piece>& cut = second ? *second : first;
  const int room = max_length - static_cast<int>(second ? first.size() + 3 : 2);
  if (room <= 0)
    fail("max_length ", max_length, " leaves no room for the ",
         second ? "second sequence after the first (" : "sequence (",
         second ? std::to_string(first.size()) + " tokens) and " : std::string(),
         second ? "3" : "2", " special tokens");
  if (stride < 0 || stride >= room)
    fail("stride ", stride, " must be below the ", room,
         " tokens a window holds (max_length less the other tokens)");
  std::vector<Encoding> out;
  const size_t n = cut.size(), step = static_cast<size_t>(room - stride);
  for (size_t start = 0;; start += step) {
    const size_t stop = std::min(n, start + static_cast<size_t>(room));
    std::span<const Piece> window(cut.data() + start, stop - start);
    out.push_back(second ? join(first, &window) : join(window, nullptr));
    if (padding == Padding::MaxLength) pad_to(out.back(), static_cast<size_t>(max_length));
    if (stop == n) break;
  }
  return out;
}

void BertTokenizer::pad_to(Encoding& e, size_t length) const {
  while (e.input_ids.size() < length) {
    e.tokens.push_back(options_.pad);
    e.input_ids.push_back(pad_id_);
    e.token_type_ids.push_back(0);
    e.attention_mask.push_back(0);
    e.offsets.push_back({0, 0});
    e.word_ids.push_back(-1);
    e.sequence_ids.push_back(-1);
  }
}

namespace {

using nlohmann::json;

json parse_json_file(const std::string& path, const char* what) {
  try {
    return json::parse(read_text_file(path, what));
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
}

// A tokenizer.json's WordPiece vocabulary and BertNormalizer settings.
Vocab from_tokenizer_json(const std::string& path, TokenizerOptions& o) {
  json j = parse_json_file(path, "tokenizer file");
  auto model = j.is_object() ? j.find("model") : j.end();
  if (model == j.end() || !model->is_object()) fail(path, ": no \"model\" object");
  std::string type = model->value("type", "WordPiece");
  if (type != "WordPiece") fail(path, ": model type \"", type, "\" is not WordPiece");
  auto vocab_json = model->find("vocab");
  if (vocab_json == model->end() || !vocab_json->is_object())
    fail(path, ": field \"model.vocab\" must map tokens to ids");
  Vocab vocab;
  for (auto& [token, id] : vocab_json->items()) {
    // Range-checked as int64 first: a larger id must not wrap into a valid one.
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= Vocab::kMaxSize)
      fail(path, ": token \"", token, "\" in model.vocab has id ", id.dump(),
           " (ids are integers below ", Vocab::kMaxSize, ")");
    vocab.set(token, static_cast<int32_t>(id.get<int64_t>()), path);
  }
  vocab.finish(path);
  try {
    o.unk = model->value("unk_token", o.unk);
    o.continuing_prefix = model->value("continuing_subword_prefix", o.continuing_prefix);
    o.max_input_chars_per_word = model->value("max_input_chars_per_word", 100);
    auto norm = j.find("normalizer");
    if (norm != j.end() && norm->is_object()) {
      std::string ntype = norm->value("type", "");
      if (ntype != "BertNormalizer")
        fail(path, ": normalizer \"", ntype, "\" is not supported (BertNormalizer only)");
      o.lowercase = norm->value("lowercase", true);
      o.tokenize_chinese_chars = norm->value("handle_chinese_chars", true);
      auto sa = norm->find("strip_accents");
      if (sa != norm->end() && !sa->is_null()) o.strip_accents = sa->get<bool>();
    }
  } catch (const json::type_error& e) {
    fail(path, ": a tokenizer setting has the wrong type (", e.what(), ")");
  }
  return vocab;
}

// A special token as tokenizer_config.json or special_tokens_map.json spell it: "[UNK]" or
// {"content": "[UNK]", ...}.
void read_special(const json& j, const char* key, std::string& out, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (it->is_string()) {
    out = it->get<std::string>();
  } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    out = (*it)["content"].get<std::string>();
  } else {
    fail(path, ": field \"", key, "\" must be a token string or {\"content\": ...}");
  }
}

void read_special_tokens(const json& j, TokenizerOptions& o, const std::string& path) {
  read_special(j, "unk_token", o.unk, path);
  read_special(j, "cls_token", o.cls, path);
  read_special(j, "sep_token", o.sep, path);
  read_special(j, "pad_token", o.pad, path);
  read_special(j, "mask_token", o.mask, path);
}

// tokenizer_config.json: as transformers does, its settings override tokenizer.json's
// normalizer (BertTokenizerFast rebuilds the normalizer when they differ).
void read_tokenizer_config(const std::string& path, TokenizerOptions& o) {
  json j = parse_json_file(path, "tokenizer config");
  if (!j.is_object()) fail(path, ": expected a JSON object");
  try {
    if (j.contains("do_lower_case")) o.lowercase = j["do_lower_case"].get<bool>();
    if (j.contains("strip_accents"))
      o.strip_accents = j["strip_accents"].is_null()
                            ? std::nullopt
                            : std::optional(j["strip_accents"].get<bool>());
    if (j.contains("tokenize_chinese_chars"))
      o.tokenize_chinese_chars = j["tokenize_chinese_chars"].get<bool>();
    if (j.contains("model_max_length")) {
      // transformers writes 1e30 (VERY_LARGE_INTEGER) for "no limit".
      const double m = j["model_max_length"].get<double>();
      if (!(m >= 1)) fail(path, ": field \"model_max_length\" must be positive");
      o.model_max_length = m > 1e9 ? 0 : static_cast<int>(m);
    }
  } catch (const json::type_error& e) {
    fail(path, ": a tokenizer setting has the wrong type (", e.what(), ")");
  }
  read_special_tokens(j, o, path);
}

}  // namespace

BertTokenizer load_tokenizer(const std::string& path, std::optional<bool> lowercase) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  TokenizerOptions o;
  std::optional<Vocab> vocab;
  std::string source = path;
  if (fs::is_directory(p)) {
    // transformers' AutoTokenizer: tokenizer.json if present, else vocab.txt; then
    // tokenizer_config.json and special_tokens_map.json on top.
    if (fs::exists(p / "tokenizer.json")) {
      source = (p / "tokenizer.json").string();
      vocab = from_tokenizer_json(source, o);
    } else if (fs::exists(p / "vocab.txt")) {
      source = (p / "vocab.txt").string();
      vocab = load_vocab_txt(source);
    } else {
      fail(path, ": no tokenizer.json or vocab.txt in this directory");
    }
    if (fs::exists(p / "tokenizer_config.json"))
      read_tokenizer_config((p / "tokenizer_config.json").string(), o);
    if (fs::exists(p / "special_tokens_map.json")) {
      const std::string map = (p / "special_tokens_map.json").string();
      json j = parse_json_file(map, "special tokens map");
      if (!j.is_object()) fail(map, ": expected a JSON object");
      read_special_tokens(j, o, map);
    }
  } else if (p.extension() == ".json") {
    vocab = from_tokenizer_json(path, o);
  } else {
    vocab = load_vocab_txt(path);
  }
  if (lowercase) o.lowercase = *lowercase;
  return BertTokenizer(std::move(*vocab), std::move(o), source);
}

int fit_max_length(const BertTokenizer& tok, int requested, std::string* note) {
  const int limit = tok.options().model_max_length;
  if (limit <= 0 || requested <= limit) return requested;
  *note = "The max_seq_length passed (" + std::to_string(requested) +
          ") is larger than the maximum length for the model (" + std::to_string(limit) +
          "). Using max_seq_length=" + std::to_string(limit) + ".";
  return limit;
}

}  // namespace bertrain
