// The dataset readers: CSV, TSV and JSON lines (the first byte picks the format and the
// header, bad-row and row-length options). The bytes are read in place, as a mapped file is.
#include "core/error.h"
#include "data/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* names[] = {"fuzz.csv", "fuzz.tsv", "fuzz.jsonl"};
  bertrain::ReaderOptions options;
  options.bad_rows = data[0] & 4 ? bertrain::BadRows::Skip : bertrain::BadRows::Fail;
  if (data[0] & 8) options.has_header = (data[0] & 16) != 0;
  if (data[0] & 32) options.max_row_bytes = 64;  // reach the row-length cap on small inputs
  try {
    bertrain::ReadResult r = bertrain::parse_examples(
        names[data[0] % 3], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1),
        options);
    bertrain::default_label_list(r.examples);
  } catch (const bertrain::Error&) {
  }
  return 0;
}
