// Shared by the libFuzzer targets: each target feeds bytes to one parser and accepts only two
// outcomes, success or a bertrain::Error naming the culprit. Anything else (another exception,
// a crash, a sanitizer report, a hang) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace bertrain::fuzz {

// The input as a file, for parsers that read paths (one file per process, rewritten per input).
inline std::string as_file(const uint8_t* data, size_t size, const char* suffix) {
  const char* dir = std::getenv("TMPDIR");
  std::string path =
      std::string(dir ? dir : "/tmp") + "/bertrain_fuzz_" + std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace bertrain::fuzz
