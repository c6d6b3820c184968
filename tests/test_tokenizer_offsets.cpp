// Offsets, word ids, sequence ids and overflowing windows against Hugging Face's fast tokenizer
// (tests/data/hf_offsets.jsonl, written by bench/hf_tokenizers/make_offsets_golden.sh with the
// npm tokenizers package): the tokenizer fixture's texts and pairs, every shipped SQuAD context,
// 300 questions with their contexts cut into windows, and every WNUT-17 dev sentence as words.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/bert_tokenizer.h"

using namespace bertrain;
using nlohmann::json;

namespace {

// The golden file's canonical form of a request's encodings and its FNV-1a 64-bit hash
// (offsets.js computes the same).
std::string canonical(const std::vector<Encoding>& encodings) {
  std::string s;
  auto list = [&](const char* key, const std::vector<int32_t>& v) {
    s += key;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(v[i]);
    }
  };
  for (const Encoding& e : encodings) {
    list("ids=", e.input_ids);
    s += "|off=";
    for (size_t i = 0; i < e.offsets.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(e.offsets[i].first);
      s += ':';
      s += std::to_string(e.offsets[i].second);
    }
    list("|w=", e.word_ids);
    list("|s=", e.sequence_ids);
    s += "\n";
  }
  return s;
}

std::string fnv1a64(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// What the request asks the fast tokenizer for, from bertrain's tokenizer.
std::vector<Encoding> encode(const BertTokenizer& tok, const json& r) {
  if (r.contains("words"))
    return {tok.assemble(tok.word_pieces(r["words"].get<std::vector<std::string>>()), nullptr, 0,
                         false, Padding::None)};
  std::vector<Piece> a = tok.pieces(r["text"].get<std::string>()), b;
  const bool pair = r.contains("text_pair");
  if (pair) b = tok.pieces(r["text_pair"].get<std::string>());
  if (r.contains("max_length"))
    return tok.windows(a, pair ? &b : nullptr, r["max_length"].get<int>(), r.value("stride", 0),
                       Padding::None);
  return {tok.assemble(std::move(a), pair ? &b : nullptr, 0, false, Padding::None)};
}

std::vector<int32_t> nullable(const json& v) {
  std::vector<int32_t> out;
  for (const json& x : v) out.push_back(x.is_null() ? -1 : x.get<int32_t>());
  return out;
}

}  // namespace

TEST(TokenizerOffsets, EqualHuggingFaceFastTokenizerOnFixturesSquadAndWnut) {
  const BertTokenizer tok =
      load_tokenizer(test::shared_dir() + "/data/tokenizer/bert-base-uncased-tokenizer.json");
  std::ifstream in(std::string(BERTRAIN_SOURCE_DIR) + "/tests/data/hf_offsets.jsonl");
  ASSERT_TRUE(in) << "tests/data/hf_offsets.jsonl";
  size_t lines = 0, windows = 0, tokens = 0, compared_in_full = 0;
  std::vector<std::string> mismatched;
  for (std::string line; std::getline(in, line);) {
    const json r = json::parse(line);
    const std::string name = r["name"];
    ++lines;
    const std::vector<Encoding> got = encode(tok, r);
    windows += got.size();
    for (const Encoding& e : got) tokens += e.input_ids.size();
    if (r.contains("encodings")) {  // field by field, for a readable failure
      ++compared_in_full;
      const json& want = r["encodings"];
      ASSERT_EQ(got.size(), want.size()) << name;
      for (size_t w = 0; w < got.size(); ++w) {
        EXPECT_EQ(got[w].tokens, want[w]["tokens"].get<std::vector<std::string>>()) << name;
        EXPECT_EQ(got[w].input_ids, want[w]["ids"].get<std::vector<int32_t>>()) << name;
        EXPECT_EQ(got[w].offsets,
                  (want[w]["offsets"].get<std::vector<std::pair<int32_t, int32_t>>>()))
            << name;
        EXPECT_EQ(got[w].word_ids, nullable(want[w]["word_ids"])) << name;
        EXPECT_EQ(got[w].sequence_ids, nullable(want[w]["sequence_ids"])) << name;
      }
    }
    if (got.size() != r["windows"].get<size_t>() || fnv1a64(canonical(got)) != r["digest"])
      mismatched.push_back(name);
  }
  std::printf("%zu requests, %zu encodings, %zu tokens; %zu compared field by field\n", lines,
              windows, tokens, compared_in_full);
  EXPECT_EQ(lines, 2828u);    // the file is whole
  EXPECT_GT(windows, lines);  // some requests overflowed into several windows
  EXPECT_TRUE(mismatched.empty()) << mismatched.size() << " differ, first: " << mismatched.front()
                                  << " (node bench/hf_tokenizers/offsets.js shows HF's)";
}
