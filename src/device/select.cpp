#include "core/error.h"
#include "device/cuda_device.h"

namespace bertrain {

#ifndef BERTRAIN_WITH_CUDA
int cuda_device_count() {
  return 0;
}

DriverMemory cuda_driver_memory() {
  return {};
}

Device cuda_device() {
  fail(
      "--device cuda: this bertrain was built without the CUDA backend (configure with nvcc "
      "installed, or -DBERTRAIN_CUDA=ON)");
}
#endif

Device device_named(const std::string& name) {
  if (name == "cpu") return cpu_device();
  if (name == "cuda") return cuda_device();
  if (name == "auto") return cuda_device_count() > 0 ? cuda_device() : cpu_device();
  fail("unknown --device \"", name, "\"; expected cpu, cuda or auto");
}

}  // namespace bertrain
