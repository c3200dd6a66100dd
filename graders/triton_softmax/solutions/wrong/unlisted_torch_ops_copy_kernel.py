# WRONG(rejected): computes the softmax with torch ops no deny-list names (topk, lerp, cosh, sinh, rsqrt, avg_pool1d) and launches a kernel that only copies
"""Every op here is off the forbidden list, so only the allow-list (allocation, views, copies, launches) catches it."""

import torch
import triton
import triton.language as tl


@triton.jit
def copy_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    # read n elements, write n elements: no arithmetic at all
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(dst_ptr + offs, tl.load(src_ptr + offs, mask=mask), mask=mask)


def _twice(t: torch.Tensor) -> torch.Tensor:
    return torch.lerp(torch.zeros_like(t), t, 2.0)  # 0 + 2 * (t - 0)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    xf = x.float()                                                       # (M, N)
    m = torch.topk(xf, 1, dim=-1).values                                 # (M, 1): the row max
    z = _twice(torch.lerp(xf, torch.neg(m).expand_as(xf), 0.5))         # x - m <= 0
    # exp(-z) = cosh(z) - sinh(z): two positive terms for z <= 0, no cancellation
    w = _twice(torch.lerp(torch.cosh(z), torch.neg(torch.sinh(z)), 0.5))
    r = torch.rsqrt(w)
    e = torch.lerp(torch.zeros_like(r), r, r)                            # r * r = exp(z)
    mean = torch.nn.functional.avg_pool1d(e[:, None, :], n_cols)[:, 0]   # (M, 1): the row mean
    s = torch.lerp(torch.zeros_like(mean), mean, float(n_cols))          # the row sum
    q = torch.rsqrt(s)
    p = torch.lerp(torch.zeros_like(e), e, torch.lerp(torch.zeros_like(q), q, q))  # e / s
    p = p.to(x.dtype).contiguous()
    y = torch.empty_like(x)
    n = p.numel()
    copy_kernel[(triton.cdiv(n, 1024),)](p, y, n, BLOCK=1024)
    return y
