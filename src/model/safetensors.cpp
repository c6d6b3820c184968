#include "model/safetensors.h"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "device/device.h"

namespace bertrain {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit

// numel * elem_size with overflow detection; returns false on overflow.
bool checked_nbytes(const Shape& shape, size_t elem, size_t* out) {
  size_t n = elem;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (d != 0 && n > std::numeric_limits<size_t>::max() / static_cast<size_t>(d)) return false;
    n *= static_cast<size_t>(d);
  }
  *out = n;
  return true;
}

TensorInfo parse_entry(const std::string& path, const std::string& name, const json& v,
                       size_t data_size) {
  auto bad = [&](const std::string& why) { fail(path, ": tensor \"", name, "\": ", why); };
  if (!v.is_object()) bad("header entry is not an object");
  auto dt = v.find("dtype"), sh = v.find("shape"), off = v.find("data_offsets");
  if (dt == v.end() || !dt->is_string()) bad("missing or non-string \"dtype\"");
  if (sh == v.end() || !sh->is_array()) bad("missing or non-array \"shape\"");
  if (off == v.end() || !off->is_array() || off->size() != 2)
    bad("\"data_offsets\" must be [begin, end]");
  TensorInfo info{};
  if (!parse_dtype(dt->get<std::string>(), &info.dtype))
    bad("unsupported dtype \"" + dt->get<std::string>() + "\"");
  for (const json& d : *sh) {
    if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers");
    info.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(d.get<uint64_t>(), 1ull << 62)));
  }
  for (const json& o : *off)
    if (!o.is_number_unsigned()) bad("data_offsets must be non-negative integers");
  uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
  if (begin > end) bad("data_offsets begin > end");
  if (end > data_size) {
    bad("data_offsets end " + std::to_string(end) + " is past the data section (" +
        std::to_string(data_size) + " bytes; truncated file?)");
  }
  size_t expected;
  if (!checked_nbytes(info.shape, dtype_size(info.dtype), &expected)) bad("shape is too large");
  if (expected != end - begin) {
    bad("shape " + shape_str(info.shape) + " of " + std::string(dtype_name(info.dtype)) +
        " needs " + std::to_string(expected) + " bytes but data_offsets span " +
        std::to_string(end - begin));
  }
  info.offset = begin;
  info.nbytes = expected;
  return info;
}

}  // namespace

SafetensorsReader::SafetensorsReader(const std::string& path)
    : file_(std::make_unique<MappedFile>(path)) {
  const size_t size = file_->size();
  if (size < 8) fail(path, ": not a safetensors file (", size, " bytes, too short for a header)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file_->data()[i];
  if (header_len > kMaxHeaderBytes)
    fail(path, ": safetensors header claims ", header_len, " bytes (limit ", kMaxHeaderBytes, ")");
  if (header_len > size - 8) {
    fail(path, ": safetensors header claims ", header_len, " bytes but the file has only ",
         size - 8, " after the size field (truncated file?)");
  }
  json header;
  try {
    header = json::parse(file_->data() + 8, file_->data() + 8 + header_len);
  } catch (const json::exception& e) {
    fail(path, ": safetensors header is not valid JSON (", e.what(), ")");
  }
  if (!header.is_object()) fail(path, ": safetensors header is not a JSON object");
  data_start_ = 8 + header_len;
  const size_t data_size = size - data_start_;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, ": \"__metadata__\" is not an object");
      for (auto& [k, s] : v.items()) {
        if (!s.is_string()) fail(path, ": \"__metadata__\" value for \"", k, "\" is not a string");
        metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    tensors_[name] = parse_entry(path, name, v, data_size);
  }
}

std::vector<std::string> SafetensorsReader::names() const {
  std::vector<std::string> out;
  for (auto& [name, info] : tensors_) out.push_back(name);
  return out;
}

const TensorInfo& SafetensorsReader::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail(path(), ": tensor \"", name, "\" is missing");
  return it->second;
}

const unsigned char* SafetensorsReader::bytes(const std::string& name) const {
  return file_->data() + data_start_ + info(name).offset;
}

Tensor SafetensorsReader::load(const std::string& name, MemCategory category) const {
  const TensorInfo& ti = info(name);
  Tensor t(ti.dtype, ti.shape, category, name);
  std::memcpy(t.raw(), bytes(name), ti.nbytes);
  return t;
}

void SafetensorsReader::read_into(const std::string& name, const Shape& expected, void* dst,
                                  DType dst_type) const {
  const TensorInfo& ti = info(name);
  convert_checked(path(), name, ti.dtype, ti.shape, bytes(name), expected, dst, dst_type);
}

void save_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const TensorView& t : tensors) {
    size_t nbytes = static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  write_file_atomic(path, [&](std::ostream& out) {
    uint64_t n = h.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(h.data(), h.size());
    const Device host = cpu_device();
    for (const TensorView& t : tensors) {
      const size_t nbytes = static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
      read_on_host(t.device ? *t.device : host, static_cast<const std::byte*>(t.data), nbytes,
                   [&](const std::byte* host) {
                     out.write(reinterpret_cast<const char*>(host),
                               static_cast<std::streamsize>(nbytes));
                   });
    }
  });
}

}  // namespace bertrain
