# WRONG(rejected): takes the product from torch.matmul (cuBLAS) and launches a Triton kernel only for the bias and the activation
"""A Triton launch happens and the epilogue is fused, but the matmul itself is torch's (forbidden op 'matmul')."""

import torch
import triton
import triton.language as tl


@triton.jit
def epilogue_kernel(z_ptr, bias_ptr, c_ptr, n_elements, N,
                    HAS_BIAS: tl.constexpr, ACT: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n_elements
    z = tl.load(z_ptr + offs, mask=mask, other=0.0)                          # float32
    if HAS_BIAS:
        z += tl.load(bias_ptr + offs % N, mask=mask, other=0.0).to(tl.float32)
    if ACT == 1:
        z = tl.maximum(z, 0.0)
    if ACT == 2:
        z = z * tl.sigmoid(1.5957691216057308 * (z + 0.044715 * z * z * z))
    tl.store(c_ptr + offs, z.to(c_ptr.dtype.element_ty), mask=mask)


def matmul(a, b, bias=None, activation=None):
    z = torch.matmul(a.float(), b.float())                                   # (M, N) float32, by cuBLAS
    c = torch.empty(z.shape, device=a.device, dtype=a.dtype)
    n = z.numel()
    epilogue_kernel[(triton.cdiv(n, 1024),)](z, bias if bias is not None else z, c, n, z.shape[1],
                                             HAS_BIAS=bias is not None,
                                             ACT={None: 0, "relu": 1, "gelu": 2}[activation], BLOCK=1024)
    return c
