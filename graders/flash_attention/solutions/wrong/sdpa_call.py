# WRONG(rejected): torch's fused attention (F.scaled_dot_product_attention) instead of a kernel
"""flash_attention, known wrong: the forward is torch's SDPA, the backward autograd through it;
a Triton kernel only copies. The exercise forbids SDPA by import, name and aten op."""

import torch
import torch.nn.functional as F
import triton
import triton.language as tl


@triton.jit
def copy_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(dst_ptr + offs, tl.load(src_ptr + offs, mask=offs < n), mask=offs < n)


def _copy(t):
    out = torch.empty_like(t)
    copy_kernel[(triton.cdiv(t.numel(), 1024),)](t, out, t.numel(), BLOCK=1024)
    return out


def attention_forward(q, k, v, causal, scale):
    o = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
    s = torch.matmul(q.float(), k.float().transpose(-1, -2)) * scale
    return _copy(o), torch.logsumexp(s, dim=-1)


def attention_backward(q, k, v, o, lse, do, causal, scale):
    q, k, v = (t.detach().requires_grad_() for t in (q, k, v))
    F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale).backward(do)
    return _copy(q.grad), _copy(k.grad), _copy(v.grad)
