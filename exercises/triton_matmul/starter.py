"""triton_matmul: c = act(a @ b + bias) in a Triton kernel, float16 / bfloat16.

See README.md for the exact contract. Replace the NotImplementedError and fill
in the kernel; the comments sketch one way (one program per tile of c).
"""

import torch
import triton
import triton.language as tl


@triton.jit
def matmul_kernel(
    a_ptr, b_ptr, c_ptr, bias_ptr,     # a (M, K), b (K, N), c (M, N), bias (N,)
    M, N, K,
    stride_am, stride_ak,              # strides in elements: a transposed view has stride_am == 1
    stride_bk, stride_bn,
    stride_cm, stride_cn,
    HAS_BIAS: tl.constexpr,
    ACTIVATION: tl.constexpr,          # e.g. 0 none, 1 relu, 2 gelu
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    # 1. the rows pid_m * BLOCK_M + tl.arange(0, BLOCK_M) and columns of this tile of c
    # 2. walk K in BLOCK_K steps: load a (BLOCK_M, BLOCK_K) and b (BLOCK_K, BLOCK_N) tiles
    #    (mask whatever lies past M, N or K: which value adds nothing to a dot?),
    #    acc = tl.dot(a, b, acc) with acc a float32 (BLOCK_M, BLOCK_N) tile
    # 3. bias, then the activation, on acc in float32; then round once to c's dtype
    # 4. store the tile, masked to c's edges
    pass


def matmul(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None,
           activation: str | None = None) -> torch.Tensor:
    """act(a @ b + bias): a (M, K), b (K, N), bias (N,) or None, activation None | "relu" | "gelu"."""
    # c = torch.empty((M, N), device=a.device, dtype=a.dtype)
    # grid = (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))
    # matmul_kernel[grid](a, b, c, bias if bias is not None else c, M, N, K, a.stride(0), ...)
    raise NotImplementedError("matmul: write the kernel and launch it")
