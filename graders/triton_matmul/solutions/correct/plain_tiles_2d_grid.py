"""Correct: the plain tile loop. A 2-D grid, one program per 32 x 64 tile of c in row-major
order, every load masked on all three edges, tanh written with one exp.

No swizzle, no wrap-around, one tile shape for every problem: slower than the reference
on a GPU at large shapes (more HBM traffic), the same answers.
"""

import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N, BLOCK_K = 32, 64, 32


@triton.jit
def matmul_kernel(a_ptr, b_ptr, bias_ptr, c_ptr, M, N, K,
                  sam, sak, sbk, sbn, scm, scn,
                  HAS_BIAS: tl.constexpr, ACT: tl.constexpr,
                  BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    rm = tl.program_id(0) * BM + tl.arange(0, BM)      # (BM,) rows of c
    rn = tl.program_id(1) * BN + tl.arange(0, BN)      # (BN,) columns of c
    rk = tl.arange(0, BK)
    in_m = rm < M
    in_n = rn < N
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k0 in range(0, K, BK):
        kk = k0 + rk
        a = tl.load(a_ptr + rm[:, None] * sam + kk[None, :] * sak,
                    mask=in_m[:, None] & (kk[None, :] < K), other=0.0)   # (BM, BK)
        b = tl.load(b_ptr + kk[:, None] * sbk + rn[None, :] * sbn,
                    mask=(kk[:, None] < K) & in_n[None, :], other=0.0)   # (BK, BN)
        acc += tl.dot(a, b)                                              # float32 (BM, BN)
    if HAS_BIAS:
        acc = acc + tl.load(bias_ptr + rn, mask=in_n, other=0.0).to(tl.float32)[None, :]
    if ACT == "relu":
        acc = tl.where(acc > 0, acc, 0.0)
    if ACT == "gelu":
        u = 0.7978845608028654 * (acc + 0.044715 * acc * acc * acc)
        # tanh(u) = 1 - 2 / (exp(2u) + 1): exp overflowing to inf gives 1, underflowing gives -1
        t = 1.0 - 2.0 / (tl.exp(2.0 * u) + 1.0)
        acc = 0.5 * acc * (1.0 + t)
    tl.store(c_ptr + rm[:, None] * scm + rn[None, :] * scn, acc.to(c_ptr.dtype.element_ty),
             mask=in_m[:, None] & in_n[None, :])


def matmul(a, b, bias=None, activation=None):
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    grid = (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))
    matmul_kernel[grid](a, b, bias if bias is not None else c, c, M, N, K,
                        a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
                        HAS_BIAS=bias is not None, ACT=activation or "none",
                        BM=BLOCK_M, BN=BLOCK_N, BK=BLOCK_K)
    return c
