#!/usr/bin/env python3
"""bertrain vs PyTorch on the same BERT shapes, in one run: each case alternates the two
implementations in fresh processes for --reps rounds, then prints medians, the speed ratio,
peak memory (max RSS) and MFU, each against the measured GEMM peak of the library it runs its
GEMMs on (bench_gemm_peak for bertrain, torch_gemm_peak.py for PyTorch, in the peer's own
environment).

  python3 bench/compare_pytorch.py --build build --cases train:8x128 --reps 3 --steps 3
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = {  # hidden, layers, intermediate, vocab, max_pos
    "bert-base-uncased": (768, 12, 3072, 30522, 512),
    "bert-large-uncased": (1024, 24, 4096, 30522, 512),
    "tiny": (64, 2, 128, 512, 64),
}


def step_flops(preset, batch, seq, train, labels=5):
    """Model FLOPs of one step: 2 per multiply-add in every GEMM (forward), x3 for training
    (backward = 2x forward). Embedding lookups and elementwise ops are not counted."""
    h, layers, inter, _, _ = PRESETS[preset]
    tokens = batch * seq
    per_layer = 2 * tokens * (4 * h * h + 2 * h * inter) + 2 * 2 * batch * seq * seq * h
    head = 2 * batch * (h * h + h * labels)
    fwd = layers * per_layer + head
    return 3 * fwd if train else fwd


def run(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--preset", default="bert-base-uncased")
    p.add_argument("--cases", default="train:8x128,train:8x512,train:32x128,inference:32x128")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--torch_blas", default="/usr/lib/x86_64-linux-gnu/openblas-openmp",
                   help="directory whose libblas.so.3 torch loads ('' = the system default)")
    p.add_argument("--torch_coretype", default=None,
                   help="OPENBLAS_CORETYPE for the PyTorch peer only (e.g. SKYLAKEX: OpenBLAS's "
                        "AVX-512 kernels, the strongest peer on this CPU; default: inherited)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                   help="bf16: bertrain --bf16 against torch.autocast bf16; MFU against each "
                        "side's bf16 GEMM peak")
    p.add_argument("--with_fp32", action="store_true",
                   help="with --precision bf16: also run bertrain fp32 in the same alternation and "
                        "report bf16 / fp32 (the issue-14 speedup, free of the machine's drift)")
    p.add_argument("--json", help="also write results here")
    a = p.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    # Debian's torch calls the BLAS behind libblas.so.3 (by default OpenBLAS's pthread build,
    # whose threads fight torch's OpenMP pool). Give the peer the OpenBLAS OpenMP build that
    # bertrain uses: it is the faster of the two for torch too (docs/PERF.md).
    torch_env = dict(env, PYTHONPATH=HERE)
    if a.torch_blas:
        torch_env["LD_LIBRARY_PATH"] = a.torch_blas
    if a.torch_coretype:
        torch_env["OPENBLAS_CORETYPE"] = a.torch_coretype
    bench = os.path.join(a.build, "bench")
    if a.precision == "bf16":
        g = run([os.path.join(bench, "bench_gemm_bf16"), "--threads", str(a.threads)], env)
        peak = {"gemm": g["shapes"][0]["bf16_impl"],
                "peak_gflops": max(r["bf16_gflops"] for r in g["shapes"])}
    else:
        peak = run([os.path.join(bench, "bench_gemm_peak"), "--threads", str(a.threads)], env)
    torch_peak = run(["/usr/bin/python3", os.path.join(HERE, "torch_gemm_peak.py"), "--threads",
                      str(a.threads), "--dtype", a.precision], torch_env)
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, {a.threads} threads, {a.precision}; bertrain GEMM {peak['gemm']} peak "
          f"{peak['peak_gflops']:.1f} GFLOP/s; PyTorch GEMM peak {torch_peak['peak_gflops']:.1f} GFLOP/s "
          f"(OPENBLAS_CORETYPE={torch_env.get('OPENBLAS_CORETYPE', '(auto)')})")
    with_fp32 = a.with_fp32 and a.precision == "bf16"
    extra = " bertrain fp32 samples/s | bf16 / fp32 |" if with_fp32 else ""
    print("| case | bertrain samples/s | PyTorch samples/s | ratio | bertrain MFU | PyTorch MFU "
          "| bertrain max RSS | PyTorch max RSS |" + extra)
    print("|---|---|---|---|---|---|---|---|" + ("---|---|" if with_fp32 else ""))
    results = []
    for case in a.cases.split(","):
        mode, shape = case.split(":")
        batch, seq = map(int, shape.split("x"))
        common = ["--preset", a.preset, "--batch", str(batch), "--seq", str(seq), "--steps", str(a.steps),
                  "--threads", str(a.threads), "--inference", "1" if mode == "inference" else "0",
                  "--precision", a.precision]
        ours, theirs, ours_fp32 = [], [], []
        for _ in range(a.reps):  # alternate so drift in the machine hits all alike
            ours.append(run([os.path.join(bench, "bench_train_step")] + common, env))
            theirs.append(run(["/usr/bin/python3", os.path.join(HERE, "torch_train_step.py")] + common, torch_env))
            if with_fp32:
                ours_fp32.append(run([os.path.join(bench, "bench_train_step")] + common[:-1] + ["fp32"], env))
        t_ours = statistics.median(r["median_step_s"] for r in ours)
        t_theirs = statistics.median(r["median_step_s"] for r in theirs)
        flops = step_flops(a.preset, batch, seq, mode == "train")
        row = {
            "case": case, "bertrain_samples_per_s": batch / t_ours, "pytorch_samples_per_s": batch / t_theirs,
            "ratio": t_theirs / t_ours, "bertrain_mfu": flops / t_ours / (peak["peak_gflops"] * 1e9),
            "pytorch_mfu": flops / t_theirs / (torch_peak["peak_gflops"] * 1e9),
            "bertrain_max_rss": max(r["peak_rss_bytes"] for r in ours),
            "pytorch_max_rss": max(r["peak_rss_bytes"] for r in theirs),
            "bertrain_counted_peak": max(r["peak_counted_bytes"] for r in ours),
            "step_flops": flops, "gemm_peak_gflops": peak["peak_gflops"],
            "torch_gemm_peak_gflops": torch_peak["peak_gflops"],
        }
        cells = ""
        if with_fp32:
            t_fp32 = statistics.median(r["median_step_s"] for r in ours_fp32)
            row["bertrain_fp32_samples_per_s"] = batch / t_fp32
            row["bf16_over_fp32"] = t_fp32 / t_ours
            cells = f" {batch / t_fp32:.2f} | {t_fp32 / t_ours:.2f}x |"
        results.append(row)
        print(f"| {case} | {row['bertrain_samples_per_s']:.2f} | {row['pytorch_samples_per_s']:.2f} | "
              f"{row['ratio']:.2f}x | {100 * row['bertrain_mfu']:.0f}% | {100 * row['pytorch_mfu']:.0f}% | "
              f"{row['bertrain_max_rss'] / 2**30:.2f} GiB | {row['pytorch_max_rss'] / 2**30:.2f} GiB |" + cells,
              flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"gemm_peak": peak, "torch_gemm_peak": torch_peak, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
