"""The GPU's practical bf16 GEMM rate, the MFU denominator of bench/gpu_check.sh: torch.mm on
random bf16 data (three input sets in rotation, so the L2 does not hold them), timed with CUDA
events after warm-up, median of --reps; the large square product and BERT-base's shapes at 4096
tokens. Prints one JSON line; peak_tflops is the best shape's rate.
  python3 bench/torch_gemm_peak_gpu.py --reps 20
"""
import argparse
import json
import statistics

import torch

p = argparse.ArgumentParser()
p.add_argument("--reps", type=int, default=20)
p.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
a = p.parse_args()
dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, as in the training peer
shapes = [(8192, 8192, 8192), (4096, 2304, 768), (4096, 768, 768), (4096, 3072, 768),
          (4096, 768, 3072)]
rows = []
with torch.no_grad():
    for m, n, k in shapes:
        sets = [(torch.randn(m, k, device="cuda", dtype=dtype),
                 torch.randn(n, k, device="cuda", dtype=dtype)) for _ in range(3)]
        for A, B in sets * 2:  # warm-up
            torch.mm(A, B.t())
        times = []
        for r in range(a.reps):
            A, B = sets[r % 3]
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            torch.mm(A, B.t())
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        rows.append({"M": m, "N": n, "K": k,
                     "tflops": 2 * m * n * k / statistics.median(times) / 1e12})
print(json.dumps({"gemm": f"torch.mm {a.dtype} (cuBLAS)", "gpu": torch.cuda.get_device_name(),
                  "shapes": rows, "peak_tflops": max(r["tflops"] for r in rows)}))
