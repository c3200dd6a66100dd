# WRONG(failed): torch's own FlashAttention op (aten::_scaled_dot_product_flash_attention_for_cpu), its name built at run time
"""flash_attention, known wrong: aten's CPU FlashAttention returns o and the log-sum-exp as the
contract wants, and its backward op the gradients; a Triton kernel only copies them. No line
names the op for the static check to read: the run-time attribute check refuses the private name
(an AttributeError in the call: failed), and were it let through, the op itself is a forbidden op
(blocked at the dispatcher: rejected)."""

import torch
import triton
import triton.language as tl

ops = torch.ops.aten


@triton.jit
def copy_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(dst_ptr + offs, tl.load(src_ptr + offs, mask=offs < n), mask=offs < n)


def _copy(t):
    out = torch.empty_like(t)
    copy_kernel[(triton.cdiv(t.numel(), 1024),)](t, out, t.numel(), BLOCK=1024)
    return out


def attention_forward(q, k, v, causal, scale):
    op = getattr(ops, "_scaled_dot_product_" + "flash_attention_for_cpu")   # a name no static check can read
    o, lse = op(q.contiguous(), k.contiguous(), v.contiguous(), 0.0, causal, scale=scale)
    return _copy(o), _copy(lse.contiguous())


def attention_backward(q, k, v, o, lse, do, causal, scale):
    op = getattr(ops, "_scaled_dot_product_" + "flash_attention_for_cpu_backward")
    dq, dk, dv = op(do, q, k, v, o, lse, 0.0, causal, scale=scale)
    return _copy(dq), _copy(dk), _copy(dv)
