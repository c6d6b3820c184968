// Embedding lookups: word + position + token type, and their gradients.
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=), parameter
// gradients accumulated (+=), rows [N, C] row-major.
#pragma once

#include <cstdint>

namespace bertrain::cpu {

// out[r] = word[ids[r]] + pos[r % S] + type[types[r]], r over B*S rows of width H.
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const int32_t* types, const T* word,
                       const T* pos, const T* type, int B, int S, int H);
// Rows whose id equals padding_idx get no word-embedding gradient (nn.Embedding padding_idx).
template <typename T>
void embedding_backward(T* dword, T* dpos, T* dtype, const T* dout, const int32_t* ids,
                        const int32_t* types, int B, int S, int H, int padding_idx);

}  // namespace bertrain::cpu
