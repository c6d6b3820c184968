// Checkpoints in every shape the Hub serves, made here from the bert_tiny fixture, load into
// BertForSequenceClassification and pass the golden comparison; hostile pytorch_model.bin
// files are refused without executing anything.
#include <gtest/gtest.h>
#include <zip.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bert_tiny_fixture.h"
#include "model/checkpoint.h"
#include "model/checkpoint_files.h"
#include "model/safetensors.h"
#include "test_util.h"
#include "train/train_step.h"

using namespace bertrain;
namespace fs = std::filesystem;

namespace {

using Fixture = test::BertTinyFixture;

struct Named {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<uint64_t> data;  // 8-byte aligned storage of any dtype
};

// The fixture's parameters, stored as `as`.
std::vector<Named> fixture_tensors(DType as = DType::F32) {
  SafetensorsReader r(test::fixture("bert_tiny/model/model.safetensors"));
  std::vector<Named> out;
  for (const std::string& name : r.names()) {
    const TensorInfo& ti = r.info(name);
    Named t{name, as, ti.shape, {}};
    t.data.resize((shape_numel(ti.shape) * dtype_size(as) + 7) / 8);
    r.read_into(name, ti.shape, t.data.data(), as);
    out.push_back(std::move(t));
  }
  return out;
}

std::string write_st(const std::string& path, const std::vector<Named>& tensors) {
  std::vector<TensorView> views;
  for (const Named& t : tensors) views.push_back({t.name, t.dtype, t.shape, t.data.data()});
  save_safetensors(path, views);
  return path;
}

Named zeros(const std::string& name, Shape shape, DType dtype = DType::F32) {
  Named t{name, dtype, shape, {}};
  t.data.assign((shape_numel(shape) * dtype_size(dtype) + 7) / 8, 0);
  return t;
}

void rename(std::vector<Named>& ts, const std::string& from, const std::string& to) {
  for (Named& t : ts)
    for (size_t at; (at = t.name.find(from)) != std::string::npos;)
      t.name.replace(at, from.size(), to);
}

void drop(std::vector<Named>& ts, const std::string& prefix) {
  std::erase_if(ts, [&](const Named& t) { return t.name.rfind(prefix, 0) == 0; });
}

// A model directory: the fixture's config.json plus the given weights file name.
std::string model_dir(const std::string& name) {
  std::string dir = test::temp_dir(name);
  fs::copy_file(test::fixture("bert_tiny/model/config.json"), dir + "/config.json");
  return dir;
}

void expect_close(const std::vector<float>& want, const float* got, double tol,
                  const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol) << what << "[" << i << "]";
}

// The golden comparison of the fixture README, on a model loaded from another shape: the
// encoder's hidden states and pooled output always, logits, loss and every gradient when the
// checkpoint carried the classifier.
void expect_golden(Bert<float>& m, bool has_classifier) {
  Fixture fx;
  m.zero_grads();
  double loss = m.forward(fx.rows(0, fx.B), true, 0);
  for (int k = 0; k <= fx.config.num_hidden_layers; ++k) {
    std::string name = "hidden_states." + std::to_string(k);
    expect_close(fx.values(name), m.hidden_state(k), 1e-5, name);
  }
  expect_close(fx.values("pooled_output"), m.pooled_output(), 1e-5, "pooled_output");
  if (!has_classifier) return;
  EXPECT_NEAR(loss, fx.values("loss")[0], 1e-6);
  expect_close(fx.values("logits"), m.logits(), 1e-5, "logits");
  m.backward(1.0);
  for (const ParamSpec& p : m.layout().params()) {
    std::vector<float> want = fx.values("grad." + p.name);
    double max_abs = 0;
    for (float w : want) max_abs = std::max(max_abs, std::abs(double(w)));
    expect_close(want, m.grads() + p.offset, 1e-9 + 1e-4 * max_abs, "grad." + p.name);
  }
}

std::unique_ptr<Bert<float>> load(const std::string& dir, bool new_head,
                                  LoadReport* report = nullptr) {
  auto m = std::make_unique<Bert<float>>(Fixture().config);
  init_weights(*m, 7);
  LoadReport r = load_weights(*m, dir, new_head);
  if (report) *report = r;
  return m;
}

// Checks bert.* (and the head when present) equal the fixture's values stored as `as`.
void expect_params_equal_fixture(const Bert<float>& m, DType as, bool with_head) {
  for (const Named& t : fixture_tensors(as)) {
    if (!with_head && t.name.rfind("classifier.", 0) == 0) continue;
    const ParamSpec& p = m.layout().find(t.name);
    std::vector<float> want(p.numel);
    convert(t.data.data(), as, want.data(), DType::F32, p.numel);
    for (size_t i = 0; i < p.numel; ++i) ASSERT_EQ(m.params()[p.offset + i], want[i]) << t.name;
  }
}

// transformers' report for a Hub checkpoint: the classifier newly initialised, the MLM head
// not used.
void expect_hub_report(const std::string& text) {
  EXPECT_NE(text.find("newly initialized: [classifier.weight, classifier.bias]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("were not used when initializing BertForSequenceClassification: "
                      "[cls.predictions.bias"),
            std::string::npos)
      << text;
}

}  // namespace

// bert-base-uncased as downloaded: legacy gamma/beta names, MLM + NSP heads, the position_ids
// buffer, no classifier.
TEST(CheckpointShapes, HubLegacyNamesHeadsAndBuffersLoad) {
  auto ts = fixture_tensors();
  rename(ts, "LayerNorm.weight", "LayerNorm.gamma");
  rename(ts, "LayerNorm.bias", "LayerNorm.beta");
  const int64_t V = 512, H = 64;
  ts.push_back(zeros("cls.predictions.bias", {V}));
  ts.push_back(zeros("cls.predictions.transform.dense.weight", {H, H}));
  ts.push_back(zeros("cls.predictions.transform.LayerNorm.gamma", {H}));
  ts.push_back(zeros("cls.seq_relationship.weight", {2, H}));
  ts.push_back(zeros("bert.embeddings.position_ids", {1, 64}, DType::I64));
  std::string dir = model_dir("legacy");
  write_st(dir + "/model.safetensors", ts);

  LoadReport r;
  auto m = load(dir, false, &r);
  EXPECT_EQ(r.renamed.size(), 10u);  // embeddings + 2 per layer, weight and bias each
  EXPECT_NE(std::find(r.renamed.begin(), r.renamed.end(),
                      "bert.embeddings.LayerNorm.gamma -> bert.embeddings.LayerNorm.weight"),
            r.renamed.end());
  std::vector<std::string> unused = {
      "cls.predictions.bias", "cls.predictions.transform.LayerNorm.gamma",
      "cls.predictions.transform.dense.weight", "cls.seq_relationship.weight"};
  std::sort(r.unused.begin(), r.unused.end());
  EXPECT_EQ(r.unused, unused);  // the buffer is ignored without a word
  EXPECT_TRUE(r.newly_initialized.empty());
  expect_params_equal_fixture(*m, DType::F32, true);
  expect_golden(*m, true);

  // As the Hub has it, without a classifier: newly initialised when training, an error when
  // a fine-tuned model was expected.
  drop(ts, "classifier.");
  write_st(dir + "/model.safetensors", ts);
  m = load(dir, true, &r);
  EXPECT_EQ(r.newly_initialized,
            (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
  expect_hub_report(describe(r));
  expect_golden(*m, false);
  EXPECT_NE(test::error_of([&] { load(dir, false); }).find("\"classifier.weight\" is missing"),
            std::string::npos);
}

// A BertForMaskedLM checkpoint has no pooler: transformers initialises it anew.
TEST(CheckpointShapes, MissingPoolerIsNewlyInitialized) {
  auto ts = fixture_tensors();
  drop(ts, "bert.pooler.");
  drop(ts, "classifier.");
  std::string dir = model_dir("no_pooler");
  write_st(dir + "/model.safetensors", ts);
  LoadReport r;
  auto m = load(dir, true, &r);
  EXPECT_EQ(r.newly_initialized,
            (std::vector<std::string>{"bert.pooler.dense.weight", "bert.pooler.dense.bias",
                                      "classifier.weight", "classifier.bias"}));
  // init_weights' values stay: N(0, initializer_range) weights, zero biases.
  const ParamSpec& b = m->layout().find("bert.pooler.dense.bias");
  for (size_t i = 0; i < b.numel; ++i) EXPECT_EQ(m->params()[b.offset + i], 0.0f);
}

// Saved from BertModel: no "bert." prefix, no classifier.
TEST(CheckpointShapes, PrefixlessBertModelLoadsIntoTheEncoder) {
  auto ts = fixture_tensors();
  drop(ts, "classifier.");
  for (Named& t : ts) t.name = t.name.substr(5);  // "bert."
  std::string dir = model_dir("prefixless");
  write_st(dir + "/model.safetensors", ts);
  LoadReport r;
  auto m = load(dir, true, &r);
  EXPECT_EQ(r.newly_initialized,
            (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
  EXPECT_TRUE(r.unused.empty());
  expect_params_equal_fixture(*m, DType::F32, false);
  expect_golden(*m, false);
}

// F16 and BF16 storage widen exactly (every value is the stored one); F64 narrows to the
// nearest float, which is the fixture's value, so the whole golden comparison passes.
TEST(CheckpointShapes, SixteenBitAndDoubleStorageWidenToFloat32) {
  for (DType as : {DType::F16, DType::BF16, DType::F64}) {
    std::string dir = model_dir(std::string(dtype_name(as)));
    write_st(dir + "/model.safetensors", fixture_tensors(as));
    LoadReport r;
    auto m = load(dir, false, &r);
    EXPECT_EQ(r.stored_dtypes, std::vector<std::string>{std::string(dtype_name(as))});
    expect_params_equal_fixture(*m, as, true);
    if (as == DType::F64) expect_golden(*m, true);
  }
}

TEST(CheckpointShapes, TwoShardsWithAnIndexLoad) {
  auto ts = fixture_tensors();
  std::string dir = model_dir("sharded");
  std::vector<Named> a(ts.begin(), ts.begin() + ts.size() / 2),
      b(ts.begin() + ts.size() / 2, ts.end());
  write_st(dir + "/model-00001-of-00002.safetensors", a);
  write_st(dir + "/model-00002-of-00002.safetensors", b);
  nlohmann::json map = nlohmann::json::object();
  for (const Named& t : a) map[t.name] = "model-00001-of-00002.safetensors";
  for (const Named& t : b) map[t.name] = "model-00002-of-00002.safetensors";
  nlohmann::json index = {{"metadata", {{"total_size", 438000}}}, {"weight_map", map}};
  test::write_text(dir + "/model.safetensors.index.json", index.dump());
  LoadReport r;
  auto m = load(dir, false, &r);
  EXPECT_NE(r.source.find("(2 shards)"), std::string::npos);
  expect_golden(*m, true);
  // The index file itself may be given instead of its directory.
  load(dir + "/model.safetensors.index.json", false, &r);
  EXPECT_NE(r.source.find("model.safetensors.index.json (2 shards)"), std::string::npos);

  // An index that points outside its directory, or at the wrong shard, is refused.
  index["weight_map"][a[0].name] = "../model-00002-of-00002.safetensors";
  test::write_text(dir + "/model.safetensors.index.json", index.dump());
  EXPECT_NE(test::error_of([&] { load(dir, false); }).find("same directory"), std::string::npos);
  index["weight_map"][a[0].name] = "model-00002-of-00002.safetensors";
  test::write_text(dir + "/model.safetensors.index.json", index.dump());
  EXPECT_NE(test::error_of([&] { load(dir, false); }).find("which does not hold it"),
            std::string::npos);
}

// pytorch_model.bin written by torch.save itself (Debian's python3-torch).
TEST(CheckpointShapes, TorchSaveZipCheckpointLoads) {
  std::string dir = model_dir("torch_bin");
  std::string st = write_st(test::temp_dir("torch_bin_src") + "/in.safetensors", fixture_tensors());
  std::string cmd = std::string(BERTRAIN_PYTHON) + " " + BERTRAIN_SOURCE_DIR +
                    "/tests/tools/torch_save_state_dict.py " + st + " " + dir +
                    "/pytorch_model.bin";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " (needs python3-torch)";
  LoadReport r;
  auto m = load(dir, false, &r);
  EXPECT_NE(r.source.find("pytorch_model.bin"), std::string::npos);
  expect_params_equal_fixture(*m, DType::F32, true);
  expect_golden(*m, true);
}

namespace {

// A zip archive of the given entries (stored, as torch.save writes them).
std::string write_zip(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& entries) {
  fs::remove(path);
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* s = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    zip_int64_t i = zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE);
    zip_set_file_compression(z, i, ZIP_CM_STORE, 0);
  }
  EXPECT_EQ(zip_close(z), 0);
  return path;
}

// One float tensor "w" [4] with stride (`stride`,) over storage "0" of `numel` elements at
// `offset`, as torch.save writes it (pickle protocol 2).
std::string tensor_pickle(int numel, int offset, int stride = 1) {
  using namespace std::string_literals;
  return "\x80\x02"
         "ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00w"
         "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
         "ctorch\nFloatStorage\nX\x01\x00\x00\x00"
         "0X\x03\x00\x00\x00"
         "cpuK"s +
         static_cast<char>(numel) + "tQK"s + static_cast<char>(offset) + "K\x04\x85K"s +
         static_cast<char>(stride) +
         "\x85\x89"
         "ccollections\nOrderedDict\n)RtRu."s;
}

// What pickle.dumps(obj, protocol=2) writes for an object whose __reduce__ returns
// (module.name, (arg,)).
std::string call_pickle(const std::string& module, const std::string& name,
                        const std::string& arg) {
  using namespace std::string_literals;
  std::string p =
      "\x80\x02"
      "c"s +
      module + "\n" + name + "\nq\x00X"s;
  for (int k = 0; k < 4; ++k) p += static_cast<char>((arg.size() >> (8 * k)) & 0xff);
  return p + arg + "q\x01\x85q\x02Rq\x03."s;
}

}  // namespace

TEST(CheckpointShapes, HostileTorchFilesAreRefusedWithoutRunningAnything) {
  std::string dir = test::temp_dir("hostile");
  auto error = [&](const std::string& pickle, const std::string& name,
                   const std::string& storage = std::string(16, '\0')) {
    std::string path = write_zip(dir + "/" + name + ".bin",
                                 {{"archive/data.pkl", pickle}, {"archive/data/0", storage}});
    return test::error_of([&] { CheckpointFiles files(path); });
  };
  // The hand-made pickle is read correctly when it is well formed.
  {
    std::string path = write_zip(dir + "/good.bin", {{"archive/data.pkl", tensor_pickle(4, 0)},
                                                     {"archive/data/0", std::string(16, '\0')}});
    CheckpointFiles files(path);
    EXPECT_EQ(files.names(), std::vector<std::string>{"w"});
  }
  // A pickle that would run a shell command: os.system (posix.system on Linux).
  const std::string marker = dir + "/executed";
  std::string e = error(call_pickle("os", "system", "touch " + marker), "os");
  EXPECT_NE(e.find("global os.system is not allowed"), std::string::npos) << e;
  e = error(call_pickle("posix", "system", "touch " + marker), "posix");
  EXPECT_NE(e.find("global posix.system is not allowed"), std::string::npos) << e;
  EXPECT_NE(e.find("nothing was executed"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(marker));
  e = error(call_pickle("builtins", "eval", "1"), "eval");
  EXPECT_NE(e.find("global builtins.eval is not allowed"), std::string::npos) << e;
  // REDUCE on an allowed name that is not a callable we accept: a storage type called.
  e = error(call_pickle("torch", "FloatStorage", "x"), "storage_call");
  EXPECT_NE(e.find("storage type called directly"), std::string::npos) << e;
  e = error(tensor_pickle(4, 2), "offset");  // elements 2..6 of a 4-element storage
  EXPECT_NE(e.find("tensor \"w\": elements 2..6 lie past the end of its storage"),
            std::string::npos)
      << e;
  e = error(tensor_pickle(8, 0), "short_storage");  // storage says 8 floats, entry holds 4
  EXPECT_NE(e.find("has 16 bytes, less than 8 elements"), std::string::npos) << e;
  e = error(tensor_pickle(4, 0).substr(0, 40), "truncated_pickle");
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;

  // A truncated archive (the first half of a valid one).
  std::string good = dir + "/good.bin";
  std::string bytes = test::read_file(good);
  std::string cut = test::write_text(dir + "/cut.bin", bytes.substr(0, bytes.size() / 2));
  e = test::error_of([&] { CheckpointFiles files(cut); });
  EXPECT_NE(e.find("cut.bin: not a readable zip archive"), std::string::npos) << e;
  // A legacy pre-1.6 torch.save stream.
  std::string legacy = test::write_text(dir + "/legacy.bin", "\x80\x02\x8a\x0a");
  e = test::error_of([&] { CheckpointFiles files(legacy); });
  EXPECT_NE(e.find("legacy (pre-1.6) torch.save file"), std::string::npos) << e;
  // A strided view (every other element) and a big-endian archive.
  e = error(tensor_pickle(8, 0, 2), "strided", std::string(32, '\0'));
  EXPECT_NE(e.find("tensor \"w\": not a contiguous row-major tensor"), std::string::npos) << e;
  std::string big = write_zip(dir + "/big.bin", {{"archive/data.pkl", tensor_pickle(4, 0)},
                                                 {"archive/byteorder", "big"},
                                                 {"archive/data/0", std::string(16, '\0')}});
  e = test::error_of([&] { CheckpointFiles files(big); });
  EXPECT_NE(e.find("big-endian byte order"), std::string::npos) << e;
}

// pytorch_model.bin.index.json over .bin shards: found in a model directory and read.
TEST(CheckpointShapes, TorchBinShardsWithAnIndexLoad) {
  const std::string sharded = test::temp_dir("bin_shards");
  write_zip(sharded + "/pytorch_model-00001-of-00001.bin",
            {{"archive/data.pkl", tensor_pickle(4, 0)}, {"archive/data/0", std::string(16, '\0')}});
  test::write_text(sharded + "/pytorch_model.bin.index.json",
                   R"({"weight_map": {"w": "pytorch_model-00001-of-00001.bin"}})");
  CheckpointFiles files(sharded);
  EXPECT_EQ(files.names(), std::vector<std::string>{"w"});
  EXPECT_NE(files.description().find("pytorch_model.bin.index.json (1 shards)"), std::string::npos);
}

namespace {

std::string read(const std::string& path) {
  return test::read_file(path);
}

// A fixture-sized bert-base-uncased with the Hub's file set: config.json (BertForMaskedLM, no
// labels), model.safetensors (legacy names, MLM + NSP heads, the position_ids buffer, no
// classifier), vocab.txt, tokenizer_config.json, tokenizer.json. The 512-token vocabulary is
// bert-base-uncased's first 104 tokens (specials at their usual ids) and its 408 most frequent
// words.
std::string hub_lookalike() {
  std::string dir = test::temp_dir("bert-base-uncased");
  auto ts = fixture_tensors();
  rename(ts, "LayerNorm.weight", "LayerNorm.gamma");
  rename(ts, "LayerNorm.bias", "LayerNorm.beta");
  drop(ts, "classifier.");
  ts.push_back(zeros("cls.predictions.bias", {512}));
  ts.push_back(zeros("cls.predictions.transform.dense.weight", {64, 64}));
  ts.push_back(zeros("cls.predictions.transform.LayerNorm.gamma", {64}));
  ts.push_back(zeros("cls.predictions.transform.LayerNorm.beta", {64}));
  ts.push_back(zeros("cls.seq_relationship.weight", {2, 64}));
  ts.push_back(zeros("cls.seq_relationship.bias", {2}));
  ts.push_back(zeros("bert.embeddings.position_ids", {1, 64}, DType::I64));
  write_st(dir + "/model.safetensors", ts);
  test::write_text(dir + "/config.json", R"({
  "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
  "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
  "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 128, "layer_norm_eps": 1e-12,
  "max_position_embeddings": 64, "model_type": "bert", "num_attention_heads": 4,
  "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute",
  "transformers_version": "4.6.0.dev0", "type_vocab_size": 2, "use_cache": true,
  "vocab_size": 512})");
  std::vector<std::string> full;
  std::istringstream lines(
      read(test::shared_dir() + "/data/tokenizer/bert-base-uncased-vocab.txt"));
  for (std::string t; std::getline(lines, t);) full.push_back(t);
  std::vector<std::string> vocab(full.begin(), full.begin() + 104);
  vocab.insert(vocab.end(), full.begin() + 1996, full.begin() + 1996 + 408);
  std::string text;
  nlohmann::json map = nlohmann::json::object();
  for (size_t i = 0; i < vocab.size(); ++i) {
    text += vocab[i] + "\n";
    map[vocab[i]] = i;
  }
  test::write_text(dir + "/vocab.txt", text);
  auto tok = nlohmann::json::parse(
      read(test::shared_dir() + "/data/tokenizer/bert-base-uncased-tokenizer.json"));
  tok["model"]["vocab"] = map;
  test::write_text(dir + "/tokenizer.json", tok.dump());
  test::write_text(dir + "/tokenizer_config.json",
                   R"({"do_lower_case": true, "model_max_length": 512})");
  return dir;
}

}  // namespace

// The README's workflow on a bert-base-uncased look-alike: train and evaluate with no flag
// about the checkpoint's shape, and the output is a plain model directory.
TEST(CheckpointShapes, HubLookalikeTrainsAndEvaluatesWithNoFlags) {
  const std::string model = hub_lookalike();
  const std::string dir = test::temp_dir("run");
  std::ifstream in(test::shared_dir() + "/data/yelp/train.csv");
  std::ofstream train(dir + "/train.csv");
  std::string line;
  for (int i = 0; i < 64 && std::getline(in, line); ++i) train << line << "\n";
  train.close();
  const std::string exe = BERTRAIN_EXE;
  const std::string out = dir + "/out";
  ASSERT_EQ(std::system((exe + " train --model " + model + " --train_file " + dir +
                         "/train.csv --eval_file " + dir + "/train.csv --output_dir " + out +
                         " --max_steps 4 --max_seq_length 64 --cache_dir none > " + dir +
                         "/train.log 2>&1")
                            .c_str()),
            0)
      << read(dir + "/train.log");
  const std::string log = read(dir + "/train.log");
  expect_hub_report(log);
  EXPECT_NE(log.find("legacy or prefix-less names mapped"), std::string::npos) << log;
  // The fine-tuned directory has the current names, the 5 labels, and loads with no report.
  Bert<float> m(load_config(out + "/config.json"));
  EXPECT_EQ(m.config().num_labels(), 5);
  LoadReport r = load_weights(m, out);
  EXPECT_TRUE(r.renamed.empty() && r.unused.empty() && r.newly_initialized.empty());
  EXPECT_EQ(describe(r), "");
  ASSERT_EQ(std::system((exe + " evaluate --model " + out + " --eval_file " + dir +
                         "/train.csv --max_seq_length 64 --json > " + dir + "/eval.json 2>&1")
                            .c_str()),
            0)
      << read(dir + "/eval.json");
  const auto fp32 = nlohmann::json::parse(read(dir + "/eval.json"));
  EXPECT_EQ(fp32["eval_samples"], 64);
  // Inference in bf16 takes the same path as training (bf16 GEMMs where the CPU has them).
  ASSERT_EQ(std::system((exe + " evaluate --bf16 --model " + out + " --eval_file " + dir +
                         "/train.csv --max_seq_length 64 --json > " + dir + "/eval16.json 2>&1")
                            .c_str()),
            0)
      << read(dir + "/eval16.json");
  const auto bf16 = nlohmann::json::parse(read(dir + "/eval16.json"));
  EXPECT_EQ(bf16["precision"], "bf16");
  EXPECT_NEAR(bf16["eval_loss"].get<double>(), fp32["eval_loss"].get<double>(),
              1e-2 * fp32["eval_loss"].get<double>());
}

// What bertrain saves loads into the PyTorch reference (modeling_bert.py's module tree) with
// strict name matching, same dtypes and shapes, and gives bertrain's logits.
TEST(CheckpointShapes, SavedModelLoadsStrictlyInThePyTorchReference) {
  Fixture fx;
  auto m = fx.model();
  AdamW<float> opt(m->layout(), {1e-2, 0.9, 0.999, 1e-8, 0.01});
  const Batch b = fx.rows(0, fx.B);
  train_step(*m, opt, LrSchedule{ScheduleType::Linear, 1e-2, 0, 1}, std::span(&b, 1), 1.0, 42);
  const std::string dir = test::temp_dir("saved");
  save_pretrained(*m, dir);
  const std::string inputs = test::fixture("bert_tiny/expected.safetensors");
  const std::string ours = dir + "/bertrain_logits.safetensors";
  ASSERT_EQ(std::system((std::string(BERTRAIN_EXE) + " parity --model " + dir + " --inputs " +
                         inputs + " --out " + ours + " > /dev/null")
                            .c_str()),
            0);
  auto check = [&](const std::string& model_dir) {
    const std::string log = model_dir + "/torch.log";
    int rc = std::system((std::string(BERTRAIN_PYTHON) + " " + BERTRAIN_SOURCE_DIR +
                          "/tests/tools/torch_load_saved.py " + model_dir + " " + inputs + " " +
                          ours + " > " + log + " 2>&1")
                             .c_str());
    return std::pair(rc, read(log));
  };
  auto [rc, log] = check(dir);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(
      log.find("ok: " + std::to_string(m->layout().params().size()) + " tensors, strict load"),
      std::string::npos)
      << log;
  // The check itself is strict: legacy names are missing keys to it.
  const std::string legacy = test::temp_dir("legacy_saved");
  fs::copy_file(dir + "/config.json", legacy + "/config.json");
  auto ts = fixture_tensors();
  rename(ts, "LayerNorm.weight", "LayerNorm.gamma");
  write_st(legacy + "/model.safetensors", ts);
  std::tie(rc, log) = check(legacy);
  EXPECT_NE(rc, 0);
  EXPECT_NE(log.find("missing key bert.embeddings.LayerNorm.weight"), std::string::npos) << log;
}
