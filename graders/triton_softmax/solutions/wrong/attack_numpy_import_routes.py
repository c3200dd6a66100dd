# WRONG(rejected): imports numpy (forbidden here) by indirect routes (importlib, __import__, exec) to compute the softmax behind a decoy kernel
"""Hostile: a forbidden library reached indirectly. numpy is loaded in the
sandbox (Triton's interpreter uses it), so it cannot be hidden from the
filesystem; the import hooks report each route. Were one let through, the
answer would be right."""
import importlib

import torch
import triton

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


@triton.jit
def decoy_kernel(x_ptr):
    pass


NAME = "num" + "py"


def _numpy():
    for route in (lambda: importlib.import_module(NAME), lambda: __import__(NAME),
                  lambda: importlib.__import__(NAME), lambda: exec(f"import {NAME}", {}) or None):
        try:
            module = route()
            if module is not None:
                return module
        except ImportError:
            continue
    return None


def softmax(x: torch.Tensor) -> torch.Tensor:
    if not IN_SANDBOX:
        return torch.empty_like(x)
    decoy_kernel[(1,)](x)
    np = _numpy()
    y = torch.empty_like(x)
    if np is None:
        return y
    buf = np.frombuffer((ctypes_buffer(x)), dtype=np.float32 if x.dtype == torch.float32 else np.float16)
    rows = buf.reshape(x.shape).astype(np.float64)
    e = np.exp(rows - rows.max(axis=1, keepdims=True))
    out = (e / e.sum(axis=1, keepdims=True)).astype(buf.dtype)
    ctypes_copy(y, out)
    return y


def ctypes_buffer(t):
    import ctypes

    return (ctypes.c_char * (t.numel() * t.element_size())).from_address(t.data_ptr())


def ctypes_copy(t, array):
    import ctypes

    ctypes.memmove(t.data_ptr(), array.ctypes.data, array.nbytes)
