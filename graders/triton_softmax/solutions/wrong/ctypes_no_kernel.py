# WRONG(rejected): computes the softmax in plain Python on the tensor's memory; no Triton kernel runs
"""Right values on the CPU; breaks only require_triton_launch: no forbidden import, no forbidden op.

It reads and writes the raw buffers through data_ptr() and ctypes (CPU memory
only, so on a GPU it would crash): nothing torch sees does any math.
"""

import ctypes
import math
import struct

import torch


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    y = torch.empty_like(x)
    fmt = "f" if x.dtype == torch.float32 else "e"   # float32, or float16 (struct's half)
    row_bytes = n_cols * x.element_size()
    src = ctypes.string_at(x.data_ptr(), n_rows * row_bytes)
    out = bytearray(len(src))
    for i in range(n_rows):
        row = struct.unpack_from(f"{n_cols}{fmt}", src, i * row_bytes)
        top = max(row)
        num = [math.exp(v - top) for v in row]
        total = math.fsum(num)
        struct.pack_into(f"{n_cols}{fmt}", out, i * row_bytes, *(v / total for v in num))
    ctypes.memmove(y.data_ptr(), bytes(out), len(out))
    return y
