# WRONG(rejected): the score matrix from torch.matmul; only the softmax and P @ V are Triton kernels
"""flash_attention, known wrong: q k^T is torch's (forbidden: matmul is on the rules' list, and off
the allow-list), the rest a Triton kernel. Rejected at run time, on the first call."""

import torch
import triton
import triton.language as tl


@triton.jit
def softmax_pv_kernel(s_ptr, v_ptr, o_ptr, lse_ptr, Lk, scale, D: tl.constexpr, BN: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)            # one (b, h, query) row: its scores are row-contiguous
    bh = tl.program_id(1).to(tl.int64)
    n_rows = tl.num_programs(0)
    cols = tl.arange(0, BN)
    s = tl.load(s_ptr + (bh * n_rows + row) * Lk + cols, mask=cols < Lk, other=float("-inf")) * scale
    m = tl.max(s, 0)
    p = tl.exp(s - m)
    total = tl.sum(p, 0)
    d = tl.arange(0, D)
    v = tl.load(v_ptr + (bh * Lk + cols)[:, None] * D + d[None, :], mask=cols[:, None] < Lk, other=0.0)
    o = tl.sum(p[:, None] * v.to(tl.float32), 0) / total
    tl.store(o_ptr + (bh * n_rows + row) * D + d, o.to(o_ptr.dtype.element_ty))
    tl.store(lse_ptr + bh * n_rows + row, m + tl.log(total))


def attention_forward(q, k, v, causal, scale):
    s = torch.matmul(q.float(), k.float().transpose(-1, -2))           # (B, H, Lq, D) @ (B, H, D, Lk)
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    if causal:
        s = s.masked_fill(torch.ones(Lq, Lk, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    o = torch.empty_like(q)
    lse = torch.empty((B, H, Lq), device=q.device, dtype=torch.float32)
    softmax_pv_kernel[(Lq, B * H)](s.contiguous(), v.contiguous(), o, lse, Lk, scale, D=D,
                                   BN=triton.next_power_of_2(Lk))
    return o, lse


def attention_backward(q, k, v, o, lse, do, causal, scale):
    raise NotImplementedError("the forward never gets this far")
