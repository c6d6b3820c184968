"""PyTorch's practical fp32 GEMM rate (the MFU denominator for the PyTorch peer): the shapes of
bench_gemm_peak, torch.mm(A, B.t()), median of --reps; prints one JSON line."""
import argparse
import json
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reps", type=int, default=10)
a = p.parse_args()
torch.set_num_threads(a.threads)
shapes = [(1024, 768, 768), (1024, 3072, 768), (1024, 768, 3072), (2048, 2048, 2048)]
rows = []
with torch.no_grad():
    for m, n, k in shapes:
        A, B = torch.full((m, k), 0.5), torch.full((n, k), 0.25)
        times = []
        for r in range(a.reps + 1):
            t0 = time.perf_counter()
            torch.mm(A, B.t())
            if r:
                times.append(time.perf_counter() - t0)
        rows.append({"M": m, "N": n, "K": k, "gflops": 2 * m * n * k / statistics.median(times) / 1e9})
print(json.dumps({"gemm": "torch.mm", "threads": a.threads, "shapes": rows,
                  "peak_gflops": max(r["gflops"] for r in rows)}))
