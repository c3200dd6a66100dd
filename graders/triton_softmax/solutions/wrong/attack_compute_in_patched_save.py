# WRONG(failed): returns an empty tensor from the graded call and means to compute the softmax afterwards, in a torch.save it replaced at import; the worker encodes with its own torch.save (bound before any submission loads), so the patch never runs and the answer is wrong
"""Under the rule watch too: a patched function the worker calls after the call runs under the same rules."""

import math

import torch
import triton
import triton.language as tl

_pending = []


@triton.jit
def touch_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.load(x_ptr + offs, mask=offs < n)


def softmax(x):
    touch_kernel[(1,)](x, x.numel(), BLOCK=16)
    y = torch.empty_like(x)
    _pending.append((x.clone(), y))
    return y


_real_save = torch.save


def _save(obj, f, *args, **kwargs):
    for x, y in _pending:
        rows = x.float().tolist()
        done = []
        for row in rows:
            top = max(row)
            e = [math.exp(v - top) for v in row]
            s = sum(e)
            done.append([v / s for v in e])
        y.copy_(torch.tensor(done, dtype=y.dtype))
    _pending.clear()
    return _real_save(obj, f, *args, **kwargs)


torch.save = _save
