#include "train/checkpoints.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"

namespace bertrain {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> tokenizer_files(const std::string& tokenizer_path) {
  if (tokenizer_path.empty()) return {};
  fs::path p(tokenizer_path);
  if (!fs::is_directory(p)) return {p.string()};
  std::vector<std::string> out;
  for (const char* name :
       {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    if (fs::exists(p / name)) out.push_back((p / name).string());
  return out;
}

static void write_tokenizer_files(const std::string& dir, const std::vector<std::string>& files,
                                  bool lowercase) {
  bool has_config = false;
  for (const std::string& f : files) {
    std::string name = fs::path(f).filename().string();
    // A bare vocab file keeps its role under the standard name.
    if (name != "tokenizer.json" && name != "tokenizer_config.json" &&
        name != "special_tokens_map.json")
      name = fs::path(f).extension() == ".json" ? "tokenizer.json" : "vocab.txt";
    has_config |= name == "tokenizer_config.json";
    write_text_file_atomic((fs::path(dir) / name).string(), read_text_file(f, "tokenizer file"));
  }
  if (!has_config && !files.empty()) {
    json cfg = {{"do_lower_case", lowercase},
                {"tokenizer_class", "BertTokenizer"},
                {"model_max_length", 512}};
    write_text_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), cfg.dump(2) + "\n");
  }
}

void save_model_dir(const Bert<float>& model, const std::string& dir,
                    const std::vector<std::string>& files, bool lowercase) {
  save_pretrained(model, dir);
  write_tokenizer_files(dir, files, lowercase);
}

// A directory, not a link to one: links are never taken for checkpoints.
static bool is_real_directory(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(p, ec));
}

static int64_t checkpoint_step(const fs::path& p) {
  std::string name = p.filename().string();
  if (name.rfind("checkpoint-", 0) != 0) return -1;
  try {
    size_t pos;
    long long s = std::stoll(name.substr(11), &pos);
    return pos == name.size() - 11 ? s : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

std::vector<std::string> list_checkpoints(const std::string& output_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  if (!fs::is_directory(output_dir)) return {};
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    int64_t step = checkpoint_step(entry.path());
    if (step >= 0 && is_real_directory(entry.path()))
      found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [s, p] : found) out.push_back(p);
  return out;
}

bool has_checkpoint(const std::string& output_dir, int64_t step) {
  return is_real_directory(fs::path(output_dir) / ("checkpoint-" + std::to_string(step)));
}

void save_checkpoint(const std::string& output_dir, int64_t step, const Bert<float>& model,
                     const OptimizerState& opt, const json& trainer_state,
                     const json& training_args, const std::vector<std::string>& files,
                     bool lowercase, int save_total_limit, const std::string& keep) {
  const fs::path final_dir = fs::path(output_dir) / ("checkpoint-" + std::to_string(step));
  const fs::path tmp = fs::path(output_dir) / (".tmp-checkpoint-" + std::to_string(step) + "-" +
                                               std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    save_model_dir(model, tmp.string(), files, lowercase);
    const size_t n = model.num_params();
    if (opt.n != n)
      fail("save_checkpoint: optimizer state of ", opt.n, " values for ", n, " parameters");
    save_safetensors(
        (tmp / "optimizer.safetensors").string(),
        {{"exp_avg", DType::F32, {static_cast<int64_t>(n)}, opt.exp_avg, opt.device},
         {"exp_avg_sq", DType::F32, {static_cast<int64_t>(n)}, opt.exp_avg_sq, opt.device}},
        {{"format", "bertrain-adamw"}, {"step", std::to_string(opt.steps)}});
    write_text_file_atomic((tmp / "trainer_state.json").string(), trainer_state.dump(2) + "\n");
    write_text_file_atomic((tmp / "training_args.json").string(), training_args.dump(2) + "\n");
    fsync_directory(tmp.string());
    // A re-save of the same step: swap the old one out first. (A link under the final name
    // counts as taken, and is renamed and removed itself, never followed.)
    if (fs::exists(fs::symlink_status(final_dir))) {
      fs::path old = fs::path(output_dir) / (".old-checkpoint-" + std::to_string(step));
      fs::remove_all(old);
      fs::rename(final_dir, old);
      fs::rename(tmp, final_dir);
      fs::remove_all(old);
    } else {
      fs::rename(tmp, final_dir);
    }
    fsync_directory(output_dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);  // the previous checkpoints stay as they were
    throw;
  }
  if (save_total_limit > 0) {
    for (const std::string& old :
         checkpoints_to_delete(list_checkpoints(output_dir), save_total_limit, keep)) {
      // Rename first (atomic), then delete: a kill mid-delete never leaves a partial
      // checkpoint under a checkpoint-<step> name.
      fs::path doomed = fs::path(output_dir) / (".deleting-" + fs::path(old).filename().string());
      fs::rename(old, doomed);
      fs::remove_all(doomed);
    }
  }
}

std::vector<std::string> checkpoints_to_delete(const std::vector<std::string>& all, int limit,
                                               const std::string& keep) {
  std::vector<std::string> order = all;
  auto best = std::find_if(order.begin(), order.end(), [&](const std::string& c) {
    return !keep.empty() && fs::path(c).filename() == fs::path(keep).filename();
  });
  if (best != order.end()) {
    if (limit == 1 && best + 1 != order.end()) limit = 2;  // the best and the newest
    // Move the best just before the newest: the newest `limit` then include it.
    if (order.size() >= 2 && best < order.end() - 2) std::rotate(best, best + 1, order.end() - 1);
  }
  if (order.size() <= static_cast<size_t>(limit)) return {};
  return {order.begin(), order.end() - limit};
}

std::string resolve_checkpoint(const std::string& spec, const std::string& output_dir) {
  if (spec == "latest" || spec == "true") {
    std::vector<std::string> all = list_checkpoints(output_dir);
    if (all.empty()) fail(output_dir, ": no checkpoint-<step> directory to resume from");
    return all.back();
  }
  if (!fs::is_directory(spec)) fail(spec, ": checkpoint directory not found");
  return spec;
}

void load_optimizer(const std::string& dir, AdamW<float>& opt) {
  SafetensorsReader f((fs::path(dir) / "optimizer.safetensors").string());
  auto it = f.metadata().find("step");
  if (it == f.metadata().end()) fail(f.path(), ": no \"step\" in the metadata");
  // Every rank reads the whole state (its shape checked against the parameters) and keeps its
  // shard: all of it without ZeRO-1.
  const Shard shard = opt.shard();
  const std::pair<const char*, float*> states[] = {{"exp_avg", opt.exp_avg()},
                                                   {"exp_avg_sq", opt.exp_avg_sq()}};
  std::vector<float> whole(opt.sharded() ? opt.num_params() : 0);
  for (const auto& state : states)
    write_from_host(opt.device(), state.second, opt.state_size(), [&](float* host) {
      const Shape shape{static_cast<int64_t>(opt.num_params())};
      if (!opt.sharded()) return f.read_into(state.first, shape, host, DType::F32);
      f.read_into(state.first, shape, whole.data(), DType::F32);
      std::copy_n(whole.data() + shard.begin, shard.size(), host);
    });
  opt.set_steps(std::stoll(it->second));
}

json load_trainer_state(const std::string& dir) {
  std::string path = (fs::path(dir) / "trainer_state.json").string();
  try {
    return json::parse(read_text_file(path, "trainer state"));
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
}

}  // namespace bertrain
