"""PyTorch's practical GEMM rate (the MFU denominator for the PyTorch peer): the shapes of
bench_gemm_peak, torch.mm(A, B.t()) in fp32, or in bf16 (--dtype bf16, what autocast runs),
median of --reps; prints one JSON line."""
import argparse
import json
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reps", type=int, default=10)
p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
a = p.parse_args()
dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
torch.set_num_threads(a.threads)
shapes = [(1024, 768, 768), (1024, 3072, 768), (1024, 768, 3072), (2048, 2048, 2048)]
rows = []
with torch.no_grad():
    for m, n, k in shapes:
        A, B = torch.full((m, k), 0.5, dtype=dtype), torch.full((n, k), 0.25, dtype=dtype)
        times = []
        for r in range(a.reps + 1):
            t0 = time.perf_counter()
            torch.mm(A, B.t())
            if r:
                times.append(time.perf_counter() - t0)
        rows.append({"M": m, "N": n, "K": k, "gflops": 2 * m * n * k / statistics.median(times) / 1e9})
print(json.dumps({"gemm": f"torch.mm {a.dtype}", "threads": a.threads, "shapes": rows,
                  "peak_gflops": max(r["gflops"] for r in rows)}))
