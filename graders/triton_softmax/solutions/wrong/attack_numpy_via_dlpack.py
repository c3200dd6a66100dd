# WRONG(rejected): hands x to numpy through DLPack (no aten op, no watched name) and computes the softmax there; numpy is reached as an attribute of Triton's interpreter, not imported
"""The guards refuse every DLPack export torch has when the candidate calls it."""

import torch
import triton
import triton.language as tl
import triton.runtime.interpreter as interpreter

np = interpreter.np  # the interpreter's own numpy: never imported by this file


@triton.jit
def touch_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.load(x_ptr + offs, mask=offs < n)  # a launch that computes nothing


class _Exported:
    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, *args, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # the CPU


def softmax(x):
    touch_kernel[(1,)](x, x.numel(), BLOCK=16)
    a = np.from_dlpack(_Exported(torch.utils.dlpack.to_dlpack(x))).astype(np.float64)
    e = np.exp(a - np.maximum.reduce(a, axis=1, keepdims=True))
    y = e / np.add.reduce(e, axis=1, keepdims=True)
    out = torch.empty_like(x)
    back = torch.utils.dlpack.from_dlpack(_Exported(torch.utils.dlpack.to_dlpack(out)))
    back.copy_(torch.from_numpy(y.astype(np.float32)))
    return out
