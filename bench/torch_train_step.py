"""Times a PyTorch training step (forward, backward, clip_grad_norm_, AdamW) or an inference
forward of BERT at the given shapes; prints one JSON line like bench_train_step."""
import argparse
import json
import resource
import statistics
import time

import torch

from torch_bert import BertForSequenceClassification, Config

PRESETS = {
    "bert-base-uncased": Config(),
    "bert-large-uncased": Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                 intermediate_size=4096),
    "tiny": Config(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=128, max_position_embeddings=64),
}

p = argparse.ArgumentParser()
p.add_argument("--preset", default="bert-base-uncased")
p.add_argument("--batch", type=int, default=8)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--inference", type=int, default=0)
p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
               help="bf16: torch.autocast('cpu', dtype=torch.bfloat16) around the forward pass")
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(42)
model = BertForSequenceClassification(PRESETS[a.preset])
opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
ids = torch.randint(100, 30000 if a.preset != "tiny" else 512, (a.batch, a.seq))
types = torch.zeros_like(ids)
mask = torch.ones_like(ids)
labels = torch.randint(0, 5, (a.batch,))

def autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16")


times = []
for s in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    if a.inference:
        model.eval()
        with torch.inference_mode(), autocast():
            _, logits = model(ids, types, mask)
        loss = torch.tensor(0.0)
    else:
        model.train()
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss, _ = model(ids, types, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    if s >= a.warmup:
        times.append(time.perf_counter() - t0)

med = statistics.median(times)
print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "precision": a.precision, "mode": "inference" if a.inference else "train",
                  "batch": a.batch, "seq": a.seq, "threads": torch.get_num_threads(), "median_step_s": med,
                  "samples_per_s": a.batch / med, "loss": float(loss),
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "step_times": times}))
