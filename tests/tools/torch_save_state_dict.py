"""Writes a safetensors file's tensors as pytorch_model.bin with torch.save, as transformers'
save_pretrained(safe_serialization=False) does: an OrderedDict of name -> tensor in torch's
zip format. Used by the tests to make a real torch.save checkpoint from the shared fixture.

usage: torch_save_state_dict.py IN.safetensors OUT.bin"""
import collections
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
          "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(body[begin:end])
        t = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]) if raw else torch.empty(0)
        out[name] = t.reshape(info["shape"]).clone()
    return out


if __name__ == "__main__":
    torch.save(read_safetensors(sys.argv[1]), sys.argv[2])
