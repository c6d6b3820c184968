"""The tables of bench/gpu_check.sh from the JSON it wrote to OUT: bertrain against Hugging Face
Trainer per case (samples/s, ratio, MFU against the measured bf16 GEMM peak, memory three ways),
in Markdown for docs/PERF.md.
  python3 bench/gpu_summary.py OUT
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_pytorch import step_flops  # noqa: E402

out = sys.argv[1]


def lines(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    rows = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:  # Trainer prints its metrics as a Python dict
                pass
    return rows


def gib(b):
    return f"{b / 2**30:.2f}" if b else "-"


peak = None
if os.path.exists(os.path.join(out, "gemm_peak.json")):
    try:
        peak = json.load(open(os.path.join(out, "gemm_peak.json")))["peak_tflops"]
    except (ValueError, KeyError):
        peak = None
print(f"GPU: {open(os.path.join(out, 'gpu.txt')).read().strip() if os.path.exists(os.path.join(out, 'gpu.txt')) else '?'}")
print(f"measured bf16 GEMM peak (torch.mm, cuBLAS): {peak:.0f} TFLOP/s" if peak else "no GEMM peak")
print()
print("| case | rounds | bertrain samples/s | HF Trainer samples/s (min-max) | ratio | bertrain MFU | "
      "HF MFU | bertrain counted peak GiB | bertrain driver GiB | HF max_allocated GiB | "
      "HF driver GiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
hf = lines("hf.jsonl")


def key(r):
    memeff = r.get("memory_efficient", 1 if r.get("attention") == "memory_efficient" else 0)
    return (r["seq"], r["batch"], r.get("checkpointing", 0), memeff)


def median_row(rows):
    """The round with the median samples/s (rounds of one case differ only in time)."""
    rows = sorted(rows, key=lambda r: r["samples_per_s"])
    return rows[(len(rows) - 1) // 2]


ours_by_case = {}
for r in lines("bertrain.jsonl"):
    ours_by_case.setdefault(key(r), []).append(r)
for (seq, batch, ckpt, memeff), rows in ours_by_case.items():
    case = f"seq {seq} x batch {batch}" + (", checkpointing" if ckpt else "") + \
        (", memory-efficient attention" if memeff else "")
    good = [r for r in rows if not r.get("error")]
    if not good:
        print(f"| {case} | {len(rows)} | failed (see bertrain.err) | | | | | | | | |")
        continue
    r = median_row(good)
    peers = [h for h in hf if h["seq"] == seq and h["batch"] == batch and
             h["checkpointing"] == ckpt]
    peer = median_row(peers) if peers else None
    flops = step_flops("bert-base-uncased", batch, seq, True)
    mfu = lambda s: f"{100 * flops / s / (peak * 1e12):.0f}%" if peak else "-"  # noqa: E731
    ours = r["samples_per_s"]
    row = [case, str(len(good)), f"{ours:.1f}"]
    if peer:
        lo, hi = min(h["samples_per_s"] for h in peers), max(h["samples_per_s"] for h in peers)
        row += [f"{peer['samples_per_s']:.1f} ({lo:.0f}-{hi:.0f})",
                f"{ours / peer['samples_per_s']:.2f}x (vs best {ours / hi:.2f}x)",
                mfu(r["median_step_s"]), mfu(peer["median_step_s"])]
    else:
        row += ["-", "-", mfu(r["median_step_s"]), "-"]
    row += [gib(r["peak_counted_bytes"]), gib(r.get("driver_used_after_bytes", 0))]
    row += [gib(peer["max_memory_allocated_bytes"]), gib(peer["driver_used_after_bytes"])] \
        if peer else ["-", "-"]
    print("| " + " | ".join(row) + " |")
