// The tokenizer against Hugging Face's BertTokenizer (../shared/fixtures/tokenizer) and the
// 10,570 SQuAD question tokenizations in ../shared/data/tokenizer.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "test_util.h"
#include "tokenizer/bert_tokenizer.h"

using namespace bertrain;
using nlohmann::json;

namespace {

const BertTokenizer& uncased() {
  static BertTokenizer t = load_tokenizer(test::shared_dir() + "/data/tokenizer/bert-base-uncased-vocab.txt");
  return t;
}

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  EXPECT_FALSE(rows.empty()) << path;
  return rows;
}

template <typename T>
std::vector<T> vec(const json& j) {
  return j.get<std::vector<T>>();
}

}  // namespace

TEST(Tokenizer, MatchesHuggingFaceOnSingleTexts) {
  int n = 0;
  for (const json& c : read_jsonl(test::fixture("tokenizer/cases.jsonl"))) {
    std::string text = c["text"];
    EXPECT_EQ(uncased().tokenize(text), vec<std::string>(c["tokens"]))
        << c["category"] << ": " << text;
    Encoding e = uncased().encode(text, nullptr, 0, false, Padding::None);
    EXPECT_EQ(e.input_ids, vec<int32_t>(c["ids"])) << text;
    ++n;
  }
  EXPECT_GT(n, 300);
}

TEST(Tokenizer, MatchesHuggingFaceOnPairs) {
  for (const json& c : read_jsonl(test::fixture("tokenizer/pairs.jsonl"))) {
    std::string a = c["text"], b = c["text_pair"];
    Encoding e = uncased().encode(a, &b, 0, false, Padding::None);
    EXPECT_EQ(e.input_ids, vec<int32_t>(c["input_ids"])) << a << " | " << b;
    EXPECT_EQ(e.token_type_ids, vec<int32_t>(c["token_type_ids"])) << a << " | " << b;
    EXPECT_EQ(e.attention_mask, vec<int32_t>(c["attention_mask"]));
  }
}

TEST(Tokenizer, MatchesHuggingFaceTruncationAndPadding) {
  for (const json& c : read_jsonl(test::fixture("tokenizer/truncation.jsonl"))) {
    std::string a = c["text"];
    std::string b = c["text_pair"].is_null() ? "" : c["text_pair"].get<std::string>();
    Encoding e = uncased().encode(a, c["text_pair"].is_null() ? nullptr : &b, c["max_length"], true,
                                  Padding::MaxLength);
    EXPECT_EQ(e.input_ids, vec<int32_t>(c["input_ids"])) << a << " | " << b;
    EXPECT_EQ(e.token_type_ids, vec<int32_t>(c["token_type_ids"])) << a << " | " << b;
    EXPECT_EQ(e.attention_mask, vec<int32_t>(c["attention_mask"])) << a << " | " << b;
  }
}

TEST(Tokenizer, MatchesTheSquadQuestions) {
  json tokens = json::parse(read_text_file(test::shared_dir() +
                                           "/data/tokenizer/squad-dev-questions-bert-base-uncased-tokens.json"));
  json ids = json::parse(read_text_file(test::shared_dir() +
                                        "/data/tokenizer/squad-dev-questions-bert-base-uncased-ids.json"));
  ASSERT_EQ(tokens.size(), ids.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::vector<std::string> got = uncased().tokenize(tokens[i]["original"]);
    if (got != vec<std::string>(tokens[i]["wordpiece"]) || uncased().ids_of(got) != vec<int32_t>(ids[i])) {
      if (++mismatches < 5) ADD_FAILURE() << tokens[i]["original"];
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(tokens.size(), 10570u);
}

TEST(Tokenizer, TokenizerJsonGivesTheSameResults) {
  BertTokenizer fast_json = load_tokenizer(test::shared_dir() + "/data/tokenizer/bert-base-uncased-tokenizer.json");
  EXPECT_EQ(fast_json.vocab().size(), 30522u);
  EXPECT_TRUE(fast_json.options().lowercase);
  EXPECT_FALSE(fast_json.options().strip_accents.has_value());
  for (const json& c : read_jsonl(test::fixture("tokenizer/cases.jsonl")))
    EXPECT_EQ(fast_json.tokenize(c["text"]), vec<std::string>(c["tokens"])) << c["text"];
}

TEST(Tokenizer, CasedVocabKeepsCaseAndAccents) {
  BertTokenizer cased = load_tokenizer(test::shared_dir() + "/data/tokenizer/bert-base-cased-vocab.txt", false);
  std::vector<std::string> t = cased.tokenize("Hello World, café");
  ASSERT_GE(t.size(), 4u);
  EXPECT_EQ(t[0], "Hello");
  EXPECT_EQ(t[1], "World");
  EXPECT_EQ(t[2], ",");
  EXPECT_EQ(cased.vocab().size(), 28996u);
}

TEST(Tokenizer, InvalidUtf8AndLongWords) {
  // Invalid bytes become U+FFFD and are dropped, joining their neighbours.
  EXPECT_EQ(uncased().tokenize("ab\xff\xfe" "cd ok"), uncased().tokenize("abcd ok"));
  EXPECT_EQ(uncased().tokenize(std::string(101, 'a')), std::vector<std::string>{"[UNK]"});
  EXPECT_EQ(uncased().tokenize("\xe2\x82"), std::vector<std::string>{});  // truncated sequence
}

TEST(Tokenizer, BadVocabulariesAreNamed) {
  std::string dir = test::temp_dir("vocab");
  {
    std::ofstream(dir + "/dup.txt") << "[PAD]\n[UNK]\nhello\n[CLS]\nhello\n";
  }
  try {
    load_vocab_txt(dir + "/dup.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dup.txt:5: token \"hello\" repeats line 3"), std::string::npos)
        << e.what();
  }
  {
    std::ofstream(dir + "/nocls.txt") << "[PAD]\n[UNK]\n[SEP]\nhello\n";
  }
  try {
    load_tokenizer(dir + "/nocls.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no \"[CLS]\" token"), std::string::npos) << e.what();
  }
  {
    std::ofstream(dir + "/bad.json") << R"({"model": {"type": "BPE", "vocab": {}}})";
  }
  EXPECT_THROW(load_tokenizer(dir + "/bad.json"), Error);
  EXPECT_THROW(load_tokenizer(dir + "/missing.txt"), Error);
}
