#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "model/bert_config.h"
#include "test_util.h"

using namespace bertrain;

static std::string error_of(const std::string& json) {
  return test::error_of([&] { parse_config(json, "cfg.json"); });
}

TEST(Config, LoadsTheFixtureConfig) {
  BertConfig c = load_config(test::fixture("bert_tiny/model/config.json"));
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.head_dim(), 16);
  EXPECT_EQ(c.num_labels(), 5);
  EXPECT_EQ(c.id2label[4], "LABEL_4");
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_DOUBLE_EQ(c.hidden_dropout_prob, 0.0);
  EXPECT_DOUBLE_EQ(c.classifier_dropout_prob(), 0.0);  // null -> hidden_dropout_prob
}

TEST(Config, RoundTripsThroughJson) {
  BertConfig c = preset_config("tiny");
  c.id2label = {"neg", "pos", "neutral"};
  BertConfig d = parse_config(config_to_json(c), "x");
  EXPECT_EQ(d.id2label, c.id2label);
  EXPECT_EQ(d.intermediate_size, c.intermediate_size);
  EXPECT_EQ(d.vocab_size, c.vocab_size);
}

TEST(Config, UnsupportedOrBadFieldsAreNamed) {
  auto has = [](const std::string& m, const std::string& part) {
    return m.find(part) != std::string::npos;
  };
  std::string m = error_of(R"({"hidden_act":"relu"})");
  EXPECT_TRUE(has(m, "cfg.json") && has(m, "hidden_act") && has(m, "relu")) << m;
  m = error_of(R"({"position_embedding_type":"relative_key"})");
  EXPECT_TRUE(has(m, "position_embedding_type") && has(m, "relative_key")) << m;
  m = error_of(R"({"hidden_size":"big"})");
  EXPECT_TRUE(has(m, "hidden_size") && has(m, "wrong type")) << m;
  m = error_of(R"({"hidden_size":100,"num_attention_heads":12})");
  EXPECT_TRUE(has(m, "not a multiple")) << m;
  m = error_of(R"({"num_hidden_layers":1000000000})");
  EXPECT_TRUE(has(m, "num_hidden_layers")) << m;
  m = error_of(R"({"num_labels":3,"id2label":{"0":"a","1":"b"}})");
  EXPECT_TRUE(has(m, "num_labels")) << m;
  m = error_of(R"({"id2label":{"0":"a","5":"b"}})");
  EXPECT_TRUE(has(m, "id2label") && has(m, "\"5\"")) << m;
  m = error_of(R"({"model_type":"gpt2"})");
  EXPECT_TRUE(has(m, "model_type")) << m;
  m = error_of("{oops");
  EXPECT_TRUE(has(m, "not valid JSON")) << m;
  m = error_of(R"({"hidden_dropout_prob":1.5})");
  EXPECT_TRUE(has(m, "hidden_dropout_prob")) << m;
  // Fuzzing findings (docs/RELIABILITY.md): a float too large for an int was undefined
  // behaviour in the cast, 2^32 + 768 silently became 768, and 1e512 escaped as an exception
  // that is not a parse error.
  m = error_of(R"({"hidden_size":2.5e30})");
  EXPECT_TRUE(has(m, "hidden_size") && has(m, "not an integer in range")) << m;
  m = error_of(R"({"hidden_size":4294968064})");
  EXPECT_TRUE(has(m, "hidden_size") && has(m, "not an integer in range")) << m;
  m = error_of(R"({"hidden_size":768.5})");
  EXPECT_TRUE(has(m, "hidden_size")) << m;
  m = error_of(R"({"layer_norm_eps":1e512})");
  EXPECT_TRUE(has(m, "cfg.json") && has(m, "not valid JSON")) << m;
  // Long fuzzing finding: 666,626,662 labels were built as names before the count was
  // checked (an out-of-memory, not an error).
  m = error_of(R"({"num_labels":666626662})");
  EXPECT_TRUE(has(m, "cfg.json: field \"num_labels\" is 666626662, expected 1..100000")) << m;
  m = error_of(R"({"num_labels":0})");
  EXPECT_TRUE(has(m, "num_labels")) << m;
  m = error_of(R"({"num_labels":-5})");
  EXPECT_TRUE(has(m, "num_labels")) << m;
  EXPECT_EQ(parse_config(R"({"hidden_size":768.0})", "x").hidden_size, 768);
  EXPECT_EQ(error_of(R"({"num_labels":3})"), "");
  EXPECT_EQ(parse_config(R"({"num_labels":3})", "x").num_labels(), 3);
}

// A config.json of 2 GiB (sparse) is refused from its size, before anything is read or
// allocated for it; so is any whole-read file past the cap a caller gives.
TEST(Config, AnOversizedFileIsRefusedBeforeItIsRead) {
  std::string dir = test::temp_dir("config_huge");
  std::string path = dir + "/config.json";
  std::filesystem::resize_file(test::write_text(path, "{"), std::uintmax_t{2} << 30);
  std::string m = test::error_of([&] { load_config(path); });
  EXPECT_NE(m.find("config.json: config file is 2147483648 bytes, more than the 1073741824"),
            std::string::npos)
      << m;
  test::write_text(path, "{\"num_labels\": 3}");
  EXPECT_EQ(load_config(path).num_labels(), 3);
  m = test::error_of([&] { read_text_file(path, "vocabulary", 8); });
  EXPECT_NE(m.find("vocabulary is 17 bytes, more than the 8"), std::string::npos) << m;
  std::filesystem::remove_all(dir);
}

// run_mlm's --config_overrides: known keys take typed values; anything else is named.
TEST(Config, OverridesSetKnownKeysAndNameTheRest) {
  const BertConfig c = preset_config("tiny");
  const BertConfig o = override_config(
      c, "hidden_dropout_prob=0,attention_probs_dropout_prob=0.05,num_hidden_layers=3");
  EXPECT_EQ(o.hidden_dropout_prob, 0.0);
  EXPECT_EQ(o.attention_probs_dropout_prob, 0.05);
  EXPECT_EQ(o.num_hidden_layers, 3);
  EXPECT_EQ(o.hidden_size, c.hidden_size);
  auto error = [&](const std::string& s) { return test::error_of([&] { override_config(c, s); }); };
  EXPECT_NE(error("hidden_dropout=0")
                .find("--config_overrides: config.json has no key \"hidden_dropout\""),
            std::string::npos);
  EXPECT_NE(error("hidden_dropout_prob").find("\"hidden_dropout_prob\" is not key=value"),
            std::string::npos);
  EXPECT_NE(error("num_hidden_layers=two").find("--config_overrides"), std::string::npos);
}
