#include "model/torch_checkpoint.h"

#include <zip.h>

#include <cstdio>
#include <limits>

#include "core/error.h"

namespace bertrain {

namespace {

constexpr uint64_t kMaxPickleBytes = uint64_t{256} << 20;  // a state dict's pickle is small

std::string zip_message(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string s = zip_error_strerror(&e);
  zip_error_fini(&e);
  return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Elements a tensor spans in its storage: offset + the furthest element + 1; false on overflow
// or when some dimension is not row-major contiguous.
bool contiguous_extent(const TorchTensorRecord& r, int64_t* end) {
  int64_t expect = 1;
  for (size_t d = r.shape.size(); d-- > 0;) {
    if (r.shape[d] != 1 && r.stride[d] != expect) return false;
    if (r.shape[d] != 0 && expect > std::numeric_limits<int64_t>::max() / r.shape[d]) return false;
    expect *= r.shape[d];
  }
  if (r.offset > std::numeric_limits<int64_t>::max() - expect) return false;
  *end = r.offset + expect;
  return true;
}

}  // namespace

TorchCheckpoint::TorchCheckpoint(const std::string& path) : path_(path) {
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    unsigned char magic[2] = {0, 0};
    size_t got = std::fread(magic, 1, 2, f);
    std::fclose(f);
    if (got == 2 && magic[0] == 0x80)
      fail(path,
           ": a legacy (pre-1.6) torch.save file; bertrain reads the zip format. Re-save it "
           "with torch >= 1.6, or as model.safetensors");
  }
  int err = 0;
  zip_.reset(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!zip_) fail(path, ": not a readable zip archive (", zip_message(err), ")");
  const zip_int64_t n = zip_get_num_entries(zip_.get(), 0);
  std::string prefix;
  int64_t pickle_index = -1;
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(zip_.get(), i, 0);
    if (name && ends_with(name, "/data.pkl") &&
        std::string(name).find('/') == std::string(name).size() - 9) {
      if (pickle_index >= 0) fail(path, ": the archive holds two data.pkl entries");
      pickle_index = i;
      prefix = std::string(name, std::string(name).size() - 8);  // "archive/"
    }
  }
  if (pickle_index < 0) fail(path, ": no <archive>/data.pkl entry; not a torch.save checkpoint");
  const zip_int64_t byteorder = zip_name_locate(zip_.get(), (prefix + "byteorder").c_str(), 0);
  if (byteorder >= 0) {
    std::vector<unsigned char> b = read_entry(byteorder, "byteorder");
    if (std::string(b.begin(), b.end()) != "little")
      fail(path, ": stored in big-endian byte order; bertrain reads little-endian checkpoints");
  }
  const std::vector<unsigned char> pickle = read_entry(pickle_index, "data.pkl");
  for (TorchTensorRecord& r : read_torch_state_dict(pickle, path)) {
    if (tensors_.count(r.name)) fail(path, ": tensor \"", r.name, "\" appears twice");
    const std::string bad = path + ": tensor \"" + r.name + "\": ";
    int64_t end = 0;
    if (!contiguous_extent(r, &end))
      fail(bad, "not a contiguous row-major tensor (stride ", shape_str(r.stride), " for shape ",
           shape_str(r.shape), "); save a .contiguous() copy");
    if (end > r.storage_numel)
      fail(bad, "elements ", r.offset, "..", end, " lie past the end of its storage (",
           r.storage_numel, " elements)");
    if (!storage_entry_.count(r.storage_key)) {
      const std::string entry = prefix + "data/" + r.storage_key;
      const zip_int64_t index = zip_name_locate(zip_.get(), entry.c_str(), 0);
      if (index < 0) fail(bad, "its storage entry ", entry, " is missing from the archive");
      zip_stat_t st;
      if (zip_stat_index(zip_.get(), index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        fail(bad, "cannot stat ", entry);
      if (st.size / dtype_size(r.dtype) < static_cast<uint64_t>(r.storage_numel))
        fail(bad, "its storage ", entry, " has ", st.size, " bytes, less than ", r.storage_numel,
             " elements of ", dtype_name(r.dtype));
      storage_entry_[r.storage_key] = index;
    }
    order_.push_back(r.name);
    tensors_[r.name] = std::move(r);
  }
}

void TorchCheckpoint::Discard::operator()(::zip* z) const {
  zip_discard(z);
}

std::vector<std::string> TorchCheckpoint::names() const {
  return order_;
}

const TorchTensorRecord& TorchCheckpoint::record(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail(path_, ": tensor \"", name, "\" is missing");
  return it->second;
}

std::vector<unsigned char> TorchCheckpoint::read_entry(int64_t index,
                                                       const std::string& what) const {
  zip_stat_t st;
  if (zip_stat_index(zip_.get(), index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    fail(path_, ": cannot stat ", what);
  if (what == "data.pkl" && st.size > kMaxPickleBytes)
    fail(path_, ": data.pkl is ", st.size, " bytes (limit ", kMaxPickleBytes, ")");
  zip_file_t* f = zip_fopen_index(zip_.get(), index, 0);
  if (!f) fail(path_, ": cannot open ", what, " (", zip_strerror(zip_.get()), ")");
  std::vector<unsigned char> out(st.size);
  const zip_int64_t got = zip_fread(f, out.data(), out.size());
  std::string error = got < 0 ? zip_file_strerror(f) : "";
  zip_fclose(f);
  if (got < 0 || static_cast<uint64_t>(got) != st.size)
    fail(path_, ": cannot read ", what, " (", got < 0 ? error : "truncated archive", ")");
  return out;
}

void TorchCheckpoint::read_into(const std::string& name, const Shape& expected, void* dst,
                                DType dst_type) const {
  const TorchTensorRecord& r = record(name);
  const std::vector<unsigned char> storage =
      read_entry(storage_entry_.at(r.storage_key), "the storage of tensor \"" + name + "\"");
  convert_checked(path_, name, r.dtype, r.shape,
                  storage.data() + static_cast<size_t>(r.offset) * dtype_size(r.dtype), expected,
                  dst, dst_type);
}

}  // namespace bertrain
