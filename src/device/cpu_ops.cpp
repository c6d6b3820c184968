#include "core/parallel.h"
#include "device/device.h"
#include "device/ops.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_bf16.h"
#include "kernels/cpu/bce_loss.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/memory.h"
#include "kernels/cpu/mse_loss.h"
#include "kernels/cpu/reductions.h"

namespace bertrain {

template <typename T>
const Ops<T>& cpu_ops() {
  static const Ops<T> ops{
      .embedding_forward = cpu::embedding_forward<T>,
      .embedding_backward = cpu::embedding_backward<T>,
      .layernorm_forward = cpu::layernorm_forward<T>,
      .add_layernorm_forward = cpu::add_layernorm_forward<T>,
      .layernorm_backward = cpu::layernorm_backward<T>,
      .linear_forward = cpu::linear_forward<T>,
      .linear_backward = cpu::linear_backward<T>,
      .gelu_forward = cpu::gelu_forward<T>,
      .gelu_backward = cpu::gelu_backward<T>,
      .tanh_forward = cpu::tanh_forward<T>,
      .tanh_backward = cpu::tanh_backward<T>,
      .cross_entropy_forward = cpu::cross_entropy_forward<T>,
      .cross_entropy_backward = cpu::cross_entropy_backward<T>,
      .mse_forward = cpu::mse_forward<T>,
      .mse_backward = cpu::mse_backward<T>,
      .bce_forward = cpu::bce_forward<T>,
      .bce_backward = cpu::bce_backward<T>,
      .upload = cpu::upload,
      .download = cpu::download,
      .synchronize = cpu::synchronize,
      .copy = cpu::copy<T>,
      .fill_zero = cpu::fill_zero<T>,
      .copy_rows = cpu::copy_rows<T>,
      .gather_rows = cpu::gather_rows<T>,
      .scatter_rows = cpu::scatter_rows<T>,
      .to_half = cpu::to_half<T>,
      .from_half = cpu::from_half<T>,
      .round_half = cpu::round_half<T>,
      .dropout_apply = cpu::dropout_apply<T>,
      .sum_squares = cpu::sum_squares<T>,
      .mean_of_pair = cpu::mean_of_pair,
      .attention_forward = cpu::attention_forward<T>,
      .attention_backward = cpu::attention_backward<T>,
      .attention_forward_blockwise = cpu::attention_forward_blockwise<T>,
      .attention_backward_blockwise = cpu::attention_backward_blockwise<T>,
      .attention_scratch_size = cpu::attention_scratch_size,
      .attention_blockwise_scratch_size = cpu::attention_blockwise_scratch_size,
      .scratch_slots = num_threads,
      .adamw_update = cpu::adamw_update<T>,
      .gemm_backend = cpu::gemm_backend,
  };
  return ops;
}

const Bf16Ops& cpu_bf16_ops() {
  static const Bf16Ops ops{
      .gemm_library = "oneDNN matmul",
      .gemm_isa = cpu::bf16_gemm_isa,
      .gemm_is_fast = cpu::bf16_gemm_is_fast,
      .add_layernorm_forward = cpu::add_layernorm_forward_bf16,
      .layernorm_backward = cpu::layernorm_backward_bf16,
      .linear_forward = cpu::linear_forward_bf16,
      .linear_forward16 = cpu::linear_forward_bf16,
      .linear_backward = cpu::linear_backward_bf16,
      .pack_column_sums = cpu::pack_bf16_column_sums,
      .column_sums_scratch_floats = cpu::column_sums_scratch_floats,
      .linear_scratch_bytes = cpu::linear_bf16_scratch_bytes,
      .gelu_forward = cpu::gelu_forward_bf16,
      .gelu_backward = cpu::gelu_backward_bf16,
      .qkv_to_heads = cpu::qkv_to_heads_bf16,
      .attention_scratch_bytes = cpu::attention_bf16_scratch_bytes,
      .attention_forward = cpu::attention_forward_bf16,
      .attention_backward = cpu::attention_backward_bf16,
  };
  return ops;
}

Device cpu_device(Allocator& allocator) {
  return {&allocator, &cpu_ops<float>(), &cpu_ops<double>(), &cpu_bf16_ops()};
}

template const Ops<float>& cpu_ops<float>();
template const Ops<double>& cpu_ops<double>();

}  // namespace bertrain
