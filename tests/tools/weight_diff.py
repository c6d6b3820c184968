"""The largest absolute difference between the float32 tensors of two safetensors files, by
name (the MPI tests compare a data-parallel run's model with one process's).
  python3 tests/tools/weight_diff.py A.safetensors B.safetensors
"""
import json
import struct
import sys
from array import array


def weights(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {name: array("f", raw[8 + n + t["data_offsets"][0]:8 + n + t["data_offsets"][1]])
            for name, t in header.items() if name != "__metadata__"}


a, b = weights(sys.argv[1]), weights(sys.argv[2])
if a.keys() != b.keys():
    sys.exit(f"{sys.argv[1]} and {sys.argv[2]} hold different tensors")
print(f"{max(abs(x - y) for k in a for x, y in zip(a[k], b[k])):.3g}")
