// The tokenizer against Hugging Face's BertTokenizer (../shared/fixtures/tokenizer) and the
// 10,570 SQuAD question tokenizations in ../shared/data/tokenizer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "test_util.h"
#include "tokenizer/bert_tokenizer.h"

using namespace bertrain;
using nlohmann::json;

namespace {

// The rows of a JSON lines file, which must hold exactly `expected` of them (a fixture that
// lost lines would otherwise pass with fewer cases).
std::vector<json> read_jsonl(const std::string& path, size_t expected) {
  std::ifstream in(path);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  EXPECT_EQ(rows.size(), expected) << path;
  return rows;
}

template <typename T>
std::vector<T> vec(const json& j) {
  return j.get<std::vector<T>>();
}

}  // namespace

TEST(Tokenizer, MatchesHuggingFaceOnSingleTexts) {
  for (const json& c : read_jsonl(test::fixture("tokenizer/cases.jsonl"), 346)) {
    std::string text = c["text"];
    EXPECT_EQ(test::uncased_tokenizer().tokenize(text), vec<std::string>(c["tokens"]))
        << c["category"] << ": " << text;
    Encoding e = test::uncased_tokenizer().encode(text, nullptr, 0, false, Padding::None);
    EXPECT_EQ(e.input_ids, vec<int32_t>(c["ids"])) << text;
  }
}

TEST(Tokenizer, MatchesHuggingFaceOnPairs) {
  for (const json& c : read_jsonl(test::fixture("tokenizer/pairs.jsonl"), 25)) {
    std::string a = c["text"], b = c["text_pair"];
    Encoding e = test::uncased_tokenizer().encode(a, &b, 0, false, Padding::None);
    EXPECT_EQ(e.input_ids, vec<int32_t>(c["input_ids"])) << a << " | " << b;
    EXPECT_EQ(e.token_type_ids, vec<int32_t>(c["token_type_ids"])) << a << " | " << b;
    EXPECT_EQ(e.attention_mask, vec<int32_t>(c["attention_mask"]));
  }
}

TEST(Tokenizer, MatchesHuggingFaceTruncationAndPadding) {
  for (const json& c : read_jsonl(test::fixture("tokenizer/truncation.jsonl"), 18)) {
    std::string a = c["text"];
    std::string b = c["text_pair"].is_null() ? "" : c["text_pair"].get<std::string>();
    Encoding e = test::uncased_tokenizer().encode(a, c["text_pair"].is_null() ? nullptr : &b,
                                                  c["max_length"], true, Padding::MaxLength);
    EXPECT_EQ(e.input_ids, vec<int32_t>(c["input_ids"])) << a << " | " << b;
    EXPECT_EQ(e.token_type_ids, vec<int32_t>(c["token_type_ids"])) << a << " | " << b;
    EXPECT_EQ(e.attention_mask, vec<int32_t>(c["attention_mask"])) << a << " | " << b;
  }
}

TEST(Tokenizer, MatchesTheSquadQuestions) {
  json tokens = json::parse(read_text_file(
      test::shared_dir() + "/data/tokenizer/squad-dev-questions-bert-base-uncased-tokens.json"));
  json ids = json::parse(read_text_file(
      test::shared_dir() + "/data/tokenizer/squad-dev-questions-bert-base-uncased-ids.json"));
  ASSERT_EQ(tokens.size(), ids.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::vector<std::string> got = test::uncased_tokenizer().tokenize(tokens[i]["original"]);
    if (got != vec<std::string>(tokens[i]["wordpiece"]) ||
        test::uncased_tokenizer().ids_of(got) != vec<int32_t>(ids[i])) {
      if (++mismatches < 5) ADD_FAILURE() << tokens[i]["original"];
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(tokens.size(), 10570u);
}

TEST(Tokenizer, TokenizerJsonGivesTheSameResults) {
  BertTokenizer fast_json =
      load_tokenizer(test::shared_dir() + "/data/tokenizer/bert-base-uncased-tokenizer.json");
  EXPECT_EQ(fast_json.vocab().size(), 30522u);
  EXPECT_TRUE(fast_json.options().lowercase);
  EXPECT_FALSE(fast_json.options().strip_accents.has_value());
  for (const json& c : read_jsonl(test::fixture("tokenizer/cases.jsonl"), 346))
    EXPECT_EQ(fast_json.tokenize(c["text"]), vec<std::string>(c["tokens"])) << c["text"];
}

namespace {

std::string tokenizer_data(const std::string& name) {
  return test::shared_dir() + "/data/tokenizer/" + name;
}

// A model directory holding the given files (copied or written).
std::string model_dir(const std::string& name,
                      const std::vector<std::pair<std::string, std::string>>& copies,
                      const std::vector<std::pair<std::string, std::string>>& texts = {}) {
  std::string dir = test::temp_dir(name);
  for (const auto& [from, to] : copies) std::filesystem::copy_file(from, dir + "/" + to);
  for (const auto& [file, text] : texts) test::write_text(dir + "/" + file, text);
  return dir;
}

}  // namespace

// bert-base-cased as the Hub has it (vocab.txt + tokenizer_config.json with do_lower_case
// false) against Hugging Face tokenizers' tokens for texts with case, accents, CJK, combining
// marks and punctuation (tests/data/hf_cased_tokens.jsonl, tests/tools/make_hf_golden.js).
TEST(Tokenizer, CasedModelDirectoryMatchesHuggingFaceTokens) {
  std::string dir = model_dir(
      "cased", {{tokenizer_data("bert-base-cased-vocab.txt"), "vocab.txt"}},
      {{"tokenizer_config.json", R"({"do_lower_case": false, "model_max_length": 512})"}});
  BertTokenizer cased = load_tokenizer(dir);
  EXPECT_FALSE(cased.options().lowercase);
  EXPECT_EQ(cased.options().model_max_length, 512);
  EXPECT_EQ(cased.vocab().size(), 28996u);
  for (const json& c :
       read_jsonl(std::string(BERTRAIN_SOURCE_DIR) + "/tests/data/hf_cased_tokens.jsonl", 13)) {
    Encoding e = cased.encode(c["text"], nullptr, 0, false, Padding::None);
    EXPECT_EQ(e.tokens, vec<std::string>(c["tokens"])) << c["text"];
    EXPECT_EQ(e.input_ids, vec<int32_t>(c["input_ids"])) << c["text"];
  }
}

// tokenizer.json alone, vocab.txt alone, and tokenizer_config.json / special_tokens_map.json
// over them, as AutoTokenizer reads a Hub directory.
TEST(Tokenizer, HubTokenizerFilesAreRead) {
  const std::string json_file = tokenizer_data("bert-base-uncased-tokenizer.json");
  const std::string vocab_file = tokenizer_data("bert-base-uncased-vocab.txt");
  BertTokenizer only_json = load_tokenizer(model_dir("json", {{json_file, "tokenizer.json"}}));
  BertTokenizer only_vocab = load_tokenizer(model_dir("vocab", {{vocab_file, "vocab.txt"}}));
  for (const json& c : read_jsonl(test::fixture("tokenizer/cases.jsonl"), 346)) {
    EXPECT_EQ(only_json.tokenize(c["text"]), vec<std::string>(c["tokens"])) << c["text"];
    EXPECT_EQ(only_vocab.tokenize(c["text"]), vec<std::string>(c["tokens"])) << c["text"];
  }
  // tokenizer_config.json overrides tokenizer.json's normalizer, as BertTokenizerFast does.
  BertTokenizer cfg = load_tokenizer(model_dir(
      "config", {{json_file, "tokenizer.json"}},
      {{"tokenizer_config.json",
        R"({"do_lower_case": false, "strip_accents": true, "tokenize_chinese_chars": false,
            "model_max_length": 128, "unk_token": "[unused1]"})"}}));
  EXPECT_FALSE(cfg.options().lowercase);
  EXPECT_EQ(cfg.options().strip_accents, std::optional<bool>(true));
  EXPECT_FALSE(cfg.options().tokenize_chinese_chars);
  EXPECT_EQ(cfg.options().unk, "[unused1]");
  EXPECT_EQ(cfg.tokenize("Café"), (std::vector<std::string>{"[unused1]"}));  // "Cafe" is not in
  std::string note;
  EXPECT_EQ(fit_max_length(cfg, 512, &note), 128);
  EXPECT_NE(note.find("Using max_seq_length=128"), std::string::npos) << note;
  EXPECT_EQ(fit_max_length(cfg, 64, &note), 64);
  // special_tokens_map.json's {"content": ...} form; 1e30 means no length limit.
  BertTokenizer mapped = load_tokenizer(model_dir(
      "map", {{vocab_file, "vocab.txt"}},
      {{"tokenizer_config.json", R"({"model_max_length": 1000000000000000019884624838656})"},
       {"special_tokens_map.json",
        R"({"cls_token": {"content": "[unused2]", "lstrip": false}})"}}));
  EXPECT_EQ(mapped.options().model_max_length, 0);
  EXPECT_EQ(mapped.encode("hi", nullptr, 0, false, Padding::None).tokens.front(), "[unused2]");
  EXPECT_NE(test::error_of([&] {
              load_tokenizer(model_dir("bad", {{vocab_file, "vocab.txt"}},
                                       {{"tokenizer_config.json", R"({"do_lower_case": "no"})"}}));
            }).find("tokenizer_config.json: a tokenizer setting has the wrong type"),
            std::string::npos);
}

TEST(Tokenizer, InvalidUtf8AndLongWords) {
  // Invalid bytes become U+FFFD and are dropped, joining their neighbours.
  EXPECT_EQ(test::uncased_tokenizer().tokenize("ab\xff\xfe"
                                               "cd ok"),
            test::uncased_tokenizer().tokenize("abcd ok"));
  EXPECT_EQ(test::uncased_tokenizer().tokenize(std::string(101, 'a')),
            std::vector<std::string>{"[UNK]"});
  EXPECT_EQ(test::uncased_tokenizer().tokenize("\xe2\x82"),
            std::vector<std::string>{});  // truncated sequence
}

TEST(Tokenizer, BadVocabulariesAreNamed) {
  std::string dir = test::temp_dir("vocab");
  { std::ofstream(dir + "/dup.txt") << "[PAD]\n[UNK]\nhello\n[CLS]\nhello\n"; }
  try {
    load_vocab_txt(dir + "/dup.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dup.txt:5: token \"hello\" repeats line 3"),
              std::string::npos)
        << e.what();
  }
  { std::ofstream(dir + "/nocls.txt") << "[PAD]\n[UNK]\n[SEP]\nhello\n"; }
  try {
    load_tokenizer(dir + "/nocls.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no \"[CLS]\" token"), std::string::npos) << e.what();
  }
  // An id past int's range must not wrap into a valid one (fuzzing, docs/RELIABILITY.md).
  { std::ofstream(dir + "/wrap.json") << R"({"model": {"vocab": {"[PAD]": 0, "a": 4294967297}}})"; }
  try {
    load_tokenizer(dir + "/wrap.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has id 4294967297"), std::string::npos) << e.what();
  }
  { std::ofstream(dir + "/bad.json") << R"({"model": {"type": "BPE", "vocab": {}}})"; }
  EXPECT_THROW(load_tokenizer(dir + "/bad.json"), Error);
  EXPECT_THROW(load_tokenizer(dir + "/missing.txt"), Error);
}

// One case per rule of the fixture README, written here (expected values follow the rules).
TEST(Tokenizer, EachUnicodeRule) {
  auto t = [](const std::string& s) { return test::uncased_tokenizer().tokenize(s); };
  using V = std::vector<std::string>;
  // 1. Pre-lowercasing one character at a time: capital sigma is always σ; İ -> i + U+0307,
  //    and the combining dot is then stripped as an accent.
  EXPECT_EQ(t("\xCE\xA3\xCE\x91\xCE\xA3"), t("\xCF\x83\xCE\xB1\xCF\x83"));  // ΣΑΣ == σασ
  EXPECT_EQ(t("\xC4\xB0stanbul"), V({"istanbul"}));
  // 2. Special tokens are case-sensitive and split out of words.
  EXPECT_EQ(t("foo[SEP]bar"), V({"foo", "[SEP]", "bar"}));
  EXPECT_EQ(t("[cls]"), V({"[", "cl", "##s", "]"}));
  // 3. Cleaning: control/format chars vanish and join neighbours; tabs and newlines split.
  EXPECT_EQ(t("foo\xE2\x80\x8B"
              "bar"),
            t("foobar"));  // zero-width space
  EXPECT_EQ(t("soft\xC2\xAD"
              "ware"),
            t("software"));  // soft hyphen
  EXPECT_EQ(t("a\tb\nc\rd"), V({"a", "b", "c", "d"}));
  EXPECT_EQ(t("x\xC2\xA0y"), V({"x", "y"}));  // no-break space (Zs)
  // 4. CJK ideographs become single words; kana does not.
  EXPECT_EQ(t("\xE4\xB8\xAD\xE6\x96\x87"), V({"\xE4\xB8\xAD", "\xE6\x96\x87"}));  // 中文
  // 5. NFC, then accents stripped after NFD; U+2028 splits words.
  EXPECT_EQ(t("caf\xC3\xA9"), V({"cafe"}));
  EXPECT_EQ(t("cafe\xCC\x81"), V({"cafe"}));  // e + combining acute
  EXPECT_EQ(t("one\xE2\x80\xA8two"), V({"one", "two"}));
  // Punctuation: ASCII symbols count, Unicode P* counts, currency signs do not.
  EXPECT_EQ(t("a$b"), V({"a", "$", "b"}));
  EXPECT_EQ(t("\xC2\xBF"
              "que?"),
            V({"\xC2\xBF", "que", "?"}));  // ¿
  // "5€" stays one word (€ is not punctuation): its second piece is a ## continuation.
  ASSERT_EQ(t("5\xE2\x82\xAC").size(), 2u);
  EXPECT_EQ(t("5\xE2\x82\xAC")[1].rfind("##", 0), 0u);
  // 6. WordPiece: greedy longest match with ## continuations; no match anywhere -> [UNK].
  EXPECT_EQ(t("unaffable"), V({"una", "##ffa", "##ble"}));  // greedy, not linguistic
  EXPECT_EQ(t("\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
              "a"),
            V({"[UNK]"}));
}

TEST(Tokenizer, PairTruncationRemovesFromTheLongerSequenceFirst) {
  std::string a = "one two three four five six", b = "alpha beta";
  // 6 + 2 tokens + 3 specials = 11; max_length 8 removes 3, all from A (A stays longer).
  Encoding e = test::uncased_tokenizer().encode(a, &b, 8, true, Padding::None);
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "one", "two", "three", "[SEP]", "alpha",
                                                "beta", "[SEP]"}));
  // max_length 6 removes 5: 4 from A to even them, then one from B on the tie.
  e = test::uncased_tokenizer().encode(a, &b, 6, true, Padding::MaxLength);
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "one", "two", "[SEP]", "alpha", "[SEP]"}));
  EXPECT_EQ(e.token_type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1}));
  e = test::uncased_tokenizer().encode("hi", nullptr, 6, true, Padding::MaxLength);
  EXPECT_EQ(e.attention_mask, (std::vector<int32_t>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(e.input_ids[5], 0);
}
