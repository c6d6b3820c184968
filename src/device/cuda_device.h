// Which device a command runs on: the CPU, or the CUDA backend where bertrain was built with it
// (BERTRAIN_WITH_CUDA) and a GPU is visible.
#pragma once

#include <string>

#include "device/device.h"

namespace bertrain {

// GPUs visible to the CUDA backend (0 in a build without it).
int cuda_device_count();
// The first GPU; a clear error without one, or in a build without CUDA.
Device cuda_device();
// The driver's view of the GPU's memory (what nvidia-smi shows): bytes in use by every process
// and the card's total. Zeros without a GPU.
struct DriverMemory {
  size_t used = 0, total = 0;
};
DriverMemory cuda_driver_memory();
// "cpu", "cuda", or "auto" (a GPU if one is visible, else the CPU).
Device device_named(const std::string& name);

}  // namespace bertrain
