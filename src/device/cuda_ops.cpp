// The CUDA backend's tables (kernels/cuda), its allocator over cudaMalloc, and its Device.
// Compiled only with BERTRAIN_WITH_CUDA.
#include "device/cuda_device.h"
#include "kernels/cuda/activations.h"
#include "kernels/cuda/adamw.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_bf16.h"
#include "kernels/cuda/bce_loss.h"
#include "kernels/cuda/convert.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layernorm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/memory.h"
#include "kernels/cuda/mse_loss.h"
#include "kernels/cuda/reductions.h"
#include "kernels/cuda/runtime.h"

namespace bertrain {

namespace {

const Ops<float>& cuda_ops() {
  static const Ops<float> ops{
      .embedding_forward = cuda::embedding_forward,
      .embedding_backward = cuda::embedding_backward,
      .layernorm_forward = cuda::layernorm_forward,
      .add_layernorm_forward = cuda::add_layernorm_forward,
      .layernorm_backward = cuda::layernorm_backward,
      .linear_forward = cuda::linear_forward,
      .linear_backward = cuda::linear_backward,
      .gelu_forward = cuda::gelu_forward,
      .gelu_backward = cuda::gelu_backward,
      .tanh_forward = cuda::tanh_forward,
      .tanh_backward = cuda::tanh_backward,
      .cross_entropy_forward = cuda::cross_entropy_forward,
      .cross_entropy_backward = cuda::cross_entropy_backward,
      .mse_forward = cuda::mse_forward,
      .mse_backward = cuda::mse_backward,
      .bce_forward = cuda::bce_forward,
      .bce_backward = cuda::bce_backward,
      .upload = cuda::upload,
      .download = cuda::download,
      .synchronize = cuda::synchronize,
      .copy = cuda::copy,
      .fill_zero = cuda::fill_zero,
      .copy_rows = cuda::copy_rows,
      .gather_rows = cuda::gather_rows,
      .scatter_rows = cuda::scatter_rows,
      .to_half = cuda::to_half,
      .from_half = cuda::from_half,
      .round_half = cuda::round_half,
      .dropout_apply = cuda::dropout_apply,
      .sum_squares = cuda::sum_squares,
      .mean_of_pair = cuda::mean_of_pair,
      .attention_forward = cuda::attention_forward,
      .attention_backward = cuda::attention_backward,
      .attention_forward_blockwise = cuda::attention_forward_blockwise,
      .attention_backward_blockwise = cuda::attention_backward_blockwise,
      .attention_scratch_size = cuda::attention_scratch_size,
      .attention_blockwise_scratch_size = cuda::attention_blockwise_scratch_size,
      .scratch_slots = cuda::attention_scratch_slots,
      .adamw_update = cuda::adamw_update,
      .gemm_backend = cuda::gemm_backend,
  };
  return ops;
}

const char* tensor_cores() {
  return "tensor cores";
}
bool always() {
  return true;
}

const Bf16Ops& cuda_bf16_ops() {
  static const Bf16Ops ops{
      .gemm_library = "cuBLASLt",
      .gemm_isa = tensor_cores,
      .gemm_is_fast = always,
      .add_layernorm_forward = cuda::add_layernorm_forward_bf16,
      .layernorm_backward = cuda::layernorm_backward_bf16,
      .linear_forward = cuda::linear_forward_bf16,
      .linear_forward16 = cuda::linear_forward16_bf16,
      .linear_backward = cuda::linear_backward_bf16,
      .pack_column_sums = cuda::pack_bf16_column_sums,
      .column_sums_scratch_floats = cuda::column_sums_scratch_floats,
      .linear_scratch_bytes = cuda::linear_bf16_scratch_bytes,
      .gelu_forward = cuda::gelu_forward_bf16,
      .gelu_backward = cuda::gelu_backward_bf16,
      .qkv_to_heads = cuda::qkv_to_heads_bf16,
      .attention_scratch_bytes = cuda::attention_bf16_scratch_bytes,
      .attention_forward = cuda::attention_forward_bf16,
      .attention_backward = cuda::attention_backward_bf16,
  };
  return ops;
}

const RawMemory& cuda_memory() {
  static const RawMemory raw{cuda::device_allocate, cuda::device_release, cuda::device_zero, false};
  return raw;
}

}  // namespace

int cuda_device_count() {
  return cuda::device_count();
}

DriverMemory cuda_driver_memory() {
  if (cuda::device_count() == 0) return {};
  size_t free = 0, total = 0;
  cuda::check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return {total - free, total};
}

Device cuda_device() {
  if (cuda::device_count() == 0)
    fail("--device cuda: no CUDA GPU is visible (cudaGetDeviceCount found none)");
  static Allocator allocator("cuda:0 " + cuda::device_description(), 0, cuda_memory());
  return {&allocator, &cuda_ops(), nullptr, &cuda_bf16_ops()};
}

}  // namespace bertrain
