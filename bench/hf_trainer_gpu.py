"""The GPU peer of `bench_train_step --device cuda`: Hugging Face Trainer fine-tuning
BertForSequenceClassification (bert-base-uncased shapes, random init, attn_implementation
"sdpa", 5 labels) on random token ids of one batch shape, bf16 (or fp32), no torch.compile.
Each optimizer step is timed to the end of its GPU work by a TrainerCallback (synchronised), the
warm-up steps left out. Prints one JSON line: the median step, samples/s, Trainer's own
train_samples_per_second, torch.cuda.max_memory_allocated, and the driver's view of the card
(mem_get_info: what nvidia-smi shows, CUDA context included).
  python3 bench/hf_trainer_gpu.py --batch 32 --seq 128 --steps 30 --warmup 5 [--checkpointing 1]
"""
import argparse
import json
import statistics
import tempfile
import time

import torch
import transformers
from transformers import (BertConfig, BertForSequenceClassification, Trainer, TrainerCallback,
                          TrainingArguments)

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--steps", type=int, default=30)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
p.add_argument("--checkpointing", type=int, default=0)
a = p.parse_args()

torch.manual_seed(42)
total = a.warmup + a.steps
driver_before = torch.cuda.mem_get_info()
config = BertConfig(num_labels=5)  # bert-base-uncased's shapes
try:
    model = BertForSequenceClassification._from_config(config, attn_implementation="sdpa")
except TypeError:  # a transformers without the keyword: set it on the config
    config._attn_implementation = "sdpa"
    model = BertForSequenceClassification(config)
model = model.cuda()


class RandomRows(torch.utils.data.Dataset):
    def __init__(self, n):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(100, 30000, (n, a.seq), generator=g)
        self.labels = torch.randint(0, 5, (n,), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(a.seq, dtype=torch.long),
                "token_type_ids": torch.zeros(a.seq, dtype=torch.long), "labels": self.labels[i]}


class StepTimer(TrainerCallback):
    def __init__(self):
        self.times, self.t0 = [], 0.0

    def on_step_begin(self, args, state, control, **kw):
        torch.cuda.synchronize()
        self.t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        torch.cuda.synchronize()
        self.times.append(time.perf_counter() - self.t0)


timer = StepTimer()
with tempfile.TemporaryDirectory() as out:
    args = TrainingArguments(
        output_dir=out, per_device_train_batch_size=a.batch, max_steps=total,
        learning_rate=5e-5, max_grad_norm=1.0, bf16=a.precision == "bf16",
        gradient_checkpointing=bool(a.checkpointing), save_strategy="no", eval_strategy="no",
        logging_steps=10**9, report_to=[], disable_tqdm=True, dataloader_num_workers=2,
        seed=42)
    trainer = Trainer(model=model, args=args, train_dataset=RandomRows(a.batch * total),
                      callbacks=[timer])
    torch.cuda.reset_peak_memory_stats()
    metrics = trainer.train().metrics
driver_after = torch.cuda.mem_get_info()
med = statistics.median(timer.times[a.warmup:])
print(json.dumps({
    "impl": "hf_trainer", "torch": torch.__version__, "transformers": transformers.__version__,
    "gpu": torch.cuda.get_device_name(), "precision": a.precision,
    "attention": getattr(model.config, "_attn_implementation", "sdpa"),
    "checkpointing": a.checkpointing, "batch": a.batch, "seq": a.seq, "median_step_s": med,
    "samples_per_s": a.batch / med,
    "trainer_samples_per_s": metrics.get("train_samples_per_second"),
    "max_memory_allocated_bytes": torch.cuda.max_memory_allocated(),
    "driver_used_before_bytes": driver_before[1] - driver_before[0],
    "driver_used_after_bytes": driver_after[1] - driver_after[0],
    "step_times": timer.times}))
