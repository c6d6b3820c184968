// BERT's embeddings on the CUDA backend: twins of kernels/cpu/embedding.h. The backward is
// deterministic: each thread owns one column and walks the rows in order, as the CPU does.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

// out[b, s] = (word[ids] + type[types]) + pos[s], [B, S, H].
void embedding_forward(float* out, const int32_t* ids, const int32_t* types, const float* word,
                       const float* pos, const float* type, int B, int S, int H);
// Accumulates (+=) into the three tables; the padding_idx row of dword gets nothing.
void embedding_backward(float* dword, float* dpos, float* dtype, const float* dout,
                        const int32_t* ids, const int32_t* types, int B, int S, int H,
                        int padding_idx);

}  // namespace bertrain::cuda
