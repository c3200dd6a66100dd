"""Reference submission for triton_matmul: graded like any candidate's file.

Runs in the sandbox, which cannot read kernels/, so it carries its own copy of
the kernel and launcher of kernels/triton_matmul.py (the file that explains
them, checks them on odd shapes and benchmarks them). The block between the
two marker lines must stay identical to that file's; a test checks it.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

# --- kernel and launcher: kept identical to kernels/triton_matmul.py ---

ACTIVATIONS = (None, "relu", "gelu")
SQRT_2_OVER_PI = tl.constexpr(math.sqrt(2.0 / math.pi))  # 0.7978845608...: GELU's tanh approximation
GELU_CUBIC = tl.constexpr(0.044715)


@triton.jit
def matmul_kernel(
    a_ptr, b_ptr, c_ptr, bias_ptr,     # A (M, K), B (K, N), C (M, N), bias (N,) or a dummy
    M, N, K,
    stride_am, stride_ak,              # any strides: a transposed view is (1, M)
    stride_bk, stride_bn,
    stride_cm, stride_cn,
    HAS_BIAS: tl.constexpr,
    ACTIVATION: tl.constexpr,          # 0 none, 1 relu, 2 gelu (tanh approximation)
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,             # rows of tiles per group of the swizzled order
):
    # --- which tile of C this program computes: grouped order for L2 reuse ---
    # Row-major order (pid -> (pid // n_tiles, pid % n_tiles)) would have the
    # programs in flight at one time cover one or two rows of tiles and all of
    # B: B is streamed from HBM again for every row of tiles. Going down GROUP_M
    # rows of tiles before moving right keeps the A rows and B columns the
    # concurrent programs share inside L2.
    pid = tl.program_id(0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    pids_per_group = GROUP_M * num_pid_n
    first_pid_m = (pid // pids_per_group) * GROUP_M
    group_rows = tl.minimum(num_pid_m - first_pid_m, GROUP_M)  # the last group may be short
    pid_m = first_pid_m + (pid % pids_per_group) % group_rows
    pid_n = (pid % pids_per_group) // group_rows

    # --- pointers to the first K step's tiles ---
    # Row and column indices wrap around (% M, % N) instead of being masked: an
    # edge tile then loads real rows it will not store, and the inner loop
    # needs no M or N mask. The store below is masked. (int32 offsets: the
    # contract's largest operand, 8192 x 8192, is 2**26 elements.)
    offs_m = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M   # (BLOCK_M,)
    offs_n = (pid_n * BLOCK_N + tl.arange(0, BLOCK_N)) % N   # (BLOCK_N,)
    offs_k = tl.arange(0, BLOCK_K)                           # (BLOCK_K,)
    a_ptrs = a_ptr + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak  # (BLOCK_M, BLOCK_K)
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn  # (BLOCK_K, BLOCK_N)

    # --- the K loop: float32 accumulator, the last step masked ---
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        k_left = K - k * BLOCK_K
        # Columns of A / rows of B past K load 0: they add nothing to the dot.
        a = tl.load(a_ptrs, mask=offs_k[None, :] < k_left, other=0.0)   # (BLOCK_M, BLOCK_K)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < k_left, other=0.0)   # (BLOCK_K, BLOCK_N)
        acc = tl.dot(a, b, acc)          # (BLOCK_M, BLOCK_K) @ (BLOCK_K, BLOCK_N), += in float32
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    # --- epilogue in float32: bias first, then the activation, then one rounding ---
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_n).to(tl.float32)   # (BLOCK_N,); offs_n wrapped: in bounds
        acc += bias[None, :]
    if ACTIVATION == 1:
        acc = tl.maximum(acc, 0.0)
    elif ACTIVATION == 2:
        # 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): one exp,
        # no tanh (which Triton's core language lacks), finite for any x (sigmoid(+-inf) = 1, 0).
        u = SQRT_2_OVER_PI * (acc + GELU_CUBIC * acc * acc * acc)
        acc = acc * tl.sigmoid(2.0 * u)
    c = acc.to(c_ptr.dtype.element_ty)

    # --- store the tile, masked to C's edges (the wrapped rows and columns are dropped) ---
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    c_ptrs = c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn
    tl.store(c_ptrs, c, mask=(rows[:, None] < M) & (cols[None, :] < N))


def _config(m: int, n: int, k: int) -> dict:
    """Fixed tile shapes per shape class (fp16 and bf16 alike: same tensor-core rate and size).

    Large: 128 x 256 tiles, 64-deep K steps, 8 warps, 3 stages in flight:
      (128*64 + 64*256) * 2 bytes * 3 stages = 144 KiB of shared memory, within the
      H100's 227 KiB; each loaded element is used 128 or 256 times.
    Medium: 128 x 128 x 64 with 4 stages: 128 KiB; more tiles, so an SM-filling grid
      from 2048 x 2048 up.
    Skinny (M <= 64, a batch of tokens against a weight): reading b is the work, and a
      128-row tile would be mostly padding. One row of tiles as tall as M (16 to 64), 64
      columns wide: N / 64 programs (128 at N = 8192, about one per SM of an H100), each
      streaming its columns of b in 128-deep steps.
    Small shapes (the CPU's, under the interpreter) take the smallest: its cost is per
    program and per loop step, and padding a 5 x 7 problem to 128 x 256 is wasted numpy.
    """
    if m * n <= 64 * 64:
        return dict(BLOCK_M=32, BLOCK_N=32, BLOCK_K=32, GROUP_M=4, num_warps=4, num_stages=2)
    if m <= 64:
        return dict(BLOCK_M=min(64, max(16, triton.next_power_of_2(m))), BLOCK_N=64, BLOCK_K=128, GROUP_M=1,
                    num_warps=4, num_stages=4)
    if m >= 4096 and n >= 4096:
        return dict(BLOCK_M=128, BLOCK_N=256, BLOCK_K=64, GROUP_M=8, num_warps=8, num_stages=3)
    return dict(BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, GROUP_M=8, num_warps=4, num_stages=4)


def matmul(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None,
           activation: str | None = None) -> torch.Tensor:
    """act(a @ b + bias): a (M, K), b (K, N), bias (N,) or None; float16/bfloat16, any strides."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul expects (M, K) and (K, N), got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype or a.dtype not in (torch.float16, torch.bfloat16):
        raise ValueError(f"matmul expects float16 or bfloat16 operands of one dtype, got {a.dtype}, {b.dtype}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be None, 'relu' or 'gelu', got {activation!r}")
    (m, k), n = a.shape, b.shape[1]
    if bias is not None and (tuple(bias.shape) != (n,) or bias.dtype != a.dtype):
        raise ValueError(f"bias must be ({n},) of {a.dtype}, got {tuple(bias.shape)} of {bias.dtype}")
    c = torch.empty((m, n), device=a.device, dtype=a.dtype)  # allocation only; the kernel writes every element
    if m == 0 or n == 0:
        return c
    cfg = _config(m, n, k)
    # One program per tile of C, in a 1-D grid: the kernel maps pid to (pid_m, pid_n) itself.
    grid = (triton.cdiv(m, cfg["BLOCK_M"]) * triton.cdiv(n, cfg["BLOCK_N"]),)
    matmul_kernel[grid](
        a, b, c, bias if bias is not None else c,   # the dummy is never read (HAS_BIAS=False)
        m, n, k,
        a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
        HAS_BIAS=bias is not None, ACTIVATION=ACTIVATIONS.index(activation), **cfg,
    )
    return c


# --- end of the part shared with kernels/triton_matmul.py ---
