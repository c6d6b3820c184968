#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "model/safetensors.h"
#include "test_util.h"

using namespace bertrain;

namespace {

std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                      int64_t claimed_len = -1) {
  std::string path = test::temp_dir("safetensors") + "/" + name;
  std::ofstream out(path, std::ios::binary);
  uint64_t n = claimed_len >= 0 ? static_cast<uint64_t>(claimed_len) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header << data;
  return path;
}

std::string error_of(const std::string& path) {
  return test::error_of([&] { SafetensorsReader r(path); });
}

void expect_error(const std::string& path, const std::vector<std::string>& parts) {
  std::string m = error_of(path);
  ASSERT_FALSE(m.empty()) << "expected an error for " << path;
  for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << m;
}

}  // namespace

TEST(Safetensors, RoundTripAllDtypes) {
  std::string dir = test::temp_dir("st_roundtrip");
  float f[6] = {1, 2, 3, 4, 5, 6};
  int64_t ids[3] = {101, 7, 102};
  uint16_t bf[2] = {float_to_bf16(1.5f), float_to_bf16(-2.0f)};
  uint16_t hf[2] = {float_to_f16(0.25f), float_to_f16(8.0f)};
  save_safetensors(dir + "/a.safetensors", {{"w", DType::F32, {2, 3}, f},
                                            {"ids", DType::I64, {3}, ids},
                                            {"b", DType::BF16, {2}, bf},
                                            {"h", DType::F16, {2, 1}, hf}});
  SafetensorsReader r(dir + "/a.safetensors");
  EXPECT_EQ(r.names().size(), 4u);
  EXPECT_EQ(r.info("w").shape, (Shape{2, 3}));
  EXPECT_EQ(r.metadata().at("format"), "pt");
  float w[6];
  r.read_into("w", {2, 3}, w, DType::F32);
  EXPECT_EQ(w[5], 6.0f);
  float b[2], h[2];
  r.read_into("b", {2}, b, DType::F32);
  r.read_into("h", {2, 1}, h, DType::F32);
  EXPECT_EQ(b[0], 1.5f);
  EXPECT_EQ(h[1], 8.0f);
  int32_t i32[3];
  r.read_into("ids", {3}, i32, DType::I32);
  EXPECT_EQ(i32[2], 102);
  Tensor t = r.load("ids");
  EXPECT_EQ(t.data<int64_t>()[0], 101);
}

TEST(Safetensors, ReadsTheFixtureModel) {
  SafetensorsReader r(test::fixture("bert_tiny/model/model.safetensors"));
  EXPECT_EQ(r.info("classifier.weight").shape, (Shape{5, 64}));
  EXPECT_EQ(r.info("bert.embeddings.word_embeddings.weight").dtype, DType::F32);
}

TEST(Safetensors, MalformedFilesNameTheCulprit) {
  const std::string ok_entry = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  expect_error(write_raw("empty_header", "", "", 0), {"empty_header", "not valid JSON"});
  {  // a file of 5 bytes
    std::string p = test::temp_dir("safetensors_tiny") + "/tiny";
    std::ofstream(p) << "abcde";
    expect_error(p, {"tiny", "too short"});
  }
  expect_error(write_raw("huge_header", "{}", "", 100ll << 30), {"huge_header", "header claims"});
  expect_error(write_raw("truncated_header", "{" + ok_entry + "}", "", 4096),
               {"truncated_header", "truncated"});
  expect_error(write_raw("not_json", "{not json", ""), {"not_json", "not valid JSON"});
  expect_error(write_raw("not_object", "[1,2]", ""), {"not_object", "not a JSON object"});
  expect_error(write_raw("bad_dtype", R"({"t":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})",
                         std::string(8, '\0')),
               {"bad_dtype", "\"t\"", "unsupported dtype"});
  expect_error(write_raw("past_end", "{" + ok_entry + "}", std::string(4, '\0')),
               {"past_end", "\"t\"", "past the data section"});
  expect_error(
      write_raw("size_mismatch", R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                std::string(8, '\0')),
      {"size_mismatch", "\"t\"", "needs 12 bytes"});
  expect_error(write_raw("neg_shape", R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
                         std::string(8, '\0')),
               {"neg_shape", "\"t\"", "non-negative"});
  expect_error(write_raw("reversed", R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})",
                         std::string(8, '\0')),
               {"reversed", "\"t\"", "begin > end"});
  expect_error(
      write_raw("no_offsets", R"({"t":{"dtype":"F32","shape":[2]}})", std::string(8, '\0')),
      {"no_offsets", "\"t\"", "data_offsets"});
  expect_error(
      write_raw("overflow",
                R"({"t":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})",
                std::string(8, '\0')),
      {"overflow", "\"t\"", "too large"});
  expect_error(test::temp_dir("st_missing") + "/nope.safetensors",
               {"nope.safetensors", "cannot open"});
}

TEST(Safetensors, MissingOrMisShapedTensorIsNamed) {
  std::string p = write_raw("one", R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                            std::string(8, '\0'));
  SafetensorsReader r(p);
  float out[4];
  try {
    r.read_into("classifier.weight", {2}, out, DType::F32);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"classifier.weight\" is missing"), std::string::npos);
  }
  try {
    r.read_into("t", {4}, out, DType::F32);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"t\" has shape [2], expected [4]"), std::string::npos)
        << e.what();
  }
  int32_t ids[2];
  EXPECT_THROW(r.read_into("t", {2}, ids, DType::I32), Error);  // float data where ids expected
}
