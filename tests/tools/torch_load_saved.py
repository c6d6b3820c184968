"""Loads a model directory that bertrain saved into the PyTorch reference
(bench/torch_bert.py, modeling_bert.py's module tree) the way from_pretrained does, with strict
name matching, and compares its logits on a batch with the logits bertrain computed.

usage: torch_load_saved.py MODEL_DIR INPUTS.safetensors BERTRAIN_OUT.safetensors
Exits 0 and prints "ok ..." when every check passes; prints what failed and exits 1 otherwise."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
sys.path.insert(0, os.path.dirname(__file__))
from torch_bert import BertForSequenceClassification, Config  # noqa: E402
from torch_save_state_dict import read_safetensors  # noqa: E402

KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
        "intermediate_size", "max_position_embeddings", "type_vocab_size",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "layer_norm_eps")


def main(model_dir, inputs_path, bertrain_path):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    problems = []
    for key in ("architectures", "id2label", "label2id", "problem_type", "torch_dtype"):
        if key not in cfg:
            problems.append(f"config.json lacks {key}")
    if cfg.get("architectures") != ["BertForSequenceClassification"]:
        problems.append(f"architectures is {cfg.get('architectures')}")
    labels = cfg.get("id2label", {})
    if {v: int(k) for k, v in labels.items()} != cfg.get("label2id"):
        problems.append("label2id is not the inverse of id2label")
    model = BertForSequenceClassification(Config(num_labels=len(labels), **{k: cfg[k] for k in KEYS}))
    state = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    expected = model.state_dict()
    for name, t in state.items():
        if name in expected and (t.dtype != expected[name].dtype or t.shape != expected[name].shape):
            problems.append(f"{name}: {t.dtype} {tuple(t.shape)}, expected "
                            f"{expected[name].dtype} {tuple(expected[name].shape)}")
    result = model.load_state_dict(state, strict=False)
    problems += [f"missing key {k}" for k in result.missing_keys]
    problems += [f"unexpected key {k}" for k in result.unexpected_keys]
    if problems:
        print("\n".join(problems))
        return 1
    model.load_state_dict(state, strict=True)
    model.eval()
    inputs = read_safetensors(inputs_path)
    with torch.no_grad():
        _, logits = model(inputs["input_ids"].long(), inputs["token_type_ids"].long(),
                          inputs["attention_mask"].long())
    ours = read_safetensors(bertrain_path)["logits"]
    diff = (logits - ours).abs().max().item()
    if not diff <= 1e-5:
        print(f"logits differ by {diff}")
        return 1
    print(f"ok: {len(state)} tensors, strict load, max |logits diff| {diff:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
