"""Reference submission for triton_softmax: graded like any candidate's file.

Runs in the sandbox, which cannot read kernels/, so it carries its own copy of
the kernel and launcher of kernels/triton_softmax.py (the file that explains
them, checks them on odd shapes and benchmarks them). The block between the
two marker lines must stay identical to that file's; a test checks it.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

# --- kernel and launcher: kept identical to kernels/triton_softmax.py ---

MAX_FUSED_BLOCK = 32768  # widest row held in registers: 64 fp32 per thread at 16 warps
LOOP_BLOCK = 4096        # columns per step of the online loop for wider rows


@triton.jit
def softmax_kernel(
    y_ptr, x_ptr,              # (M, N) each, rows contiguous
    x_row_stride, y_row_stride,
    n_cols,
    BLOCK: tl.constexpr,       # power of two; >= n_cols when ONE_BLOCK
    ONE_BLOCK: tl.constexpr,   # the whole row fits in one block
):
    row = tl.program_id(0).to(tl.int64)  # int64: M * N may pass 2**31 elements
    x_row_ptr = x_ptr + row * x_row_stride
    y_row_ptr = y_ptr + row * y_row_stride
    cols = tl.arange(0, BLOCK)

    if ONE_BLOCK:
        mask = cols < n_cols
        # Padding is -inf: it never wins the max and its exp is exactly 0.
        # Read once, never again: evict_first keeps L2 for the other rows.
        x = tl.load(x_row_ptr + cols, mask=mask, other=-float("inf"),
                    eviction_policy="evict_first").to(tl.float32)  # (BLOCK,)
        x_max = tl.max(x, axis=0)                                  # scalar
        num = tl.exp(x - x_max)                                    # (BLOCK,) in (0, 1]
        den = tl.sum(num, axis=0)                                  # scalar >= 1
        y = num * (1.0 / den)
        tl.store(y_row_ptr + cols, y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        # Online softmax, one running (max, sum) per lane: lane j sees columns
        # j, j + BLOCK, j + 2 * BLOCK, ... and rescales its sum whenever its max
        # grows. The lanes are merged once at the end, not every step.
        # n_cols > BLOCK here, so every lane reads a real column in the first
        # step and its max is finite from then on (no -inf - -inf = NaN).
        m = tl.full([BLOCK], -float("inf"), tl.float32)                # (BLOCK,)
        s = tl.zeros([BLOCK], tl.float32)                              # (BLOCK,)
        for start in range(0, n_cols, BLOCK):
            c = start + cols
            # evict_last: the second walk below reads this row again.
            x = tl.load(x_row_ptr + c, mask=c < n_cols, other=-float("inf"),
                        eviction_policy="evict_last").to(tl.float32)
            m_new = tl.maximum(m, x)
            s = s * tl.exp(m - m_new) + tl.exp(x - m_new)
            m = m_new
        x_max = tl.max(m, axis=0)
        den = tl.sum(s * tl.exp(m - x_max), axis=0)
        inv_den = 1.0 / den
        for start in range(0, n_cols, BLOCK):
            c = start + cols
            mask = c < n_cols
            x = tl.load(x_row_ptr + c, mask=mask, other=-float("inf"),
                        eviction_policy="evict_first").to(tl.float32)
            y = tl.exp(x - x_max) * inv_den
            tl.store(y_row_ptr + c, y.to(y_ptr.dtype.element_ty), mask=mask)


def _num_warps(block: int) -> int:
    # At most 64 fp32 values per thread (16 or more from 2048 columns up):
    # enough loads in flight to cover DRAM latency, few enough registers not to spill.
    if block >= 16384:
        return 16
    if block >= 4096:
        return 8
    return 4


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim of a 2-D tensor (M, N); float32/16/bf16 in, same dtype out."""
    if x.ndim != 2:
        raise ValueError(f"softmax expects a 2-D tensor, got shape {tuple(x.shape)}")
    if x.shape[1] > 1 and x.stride(1) != 1:
        raise ValueError("softmax expects rows with contiguous columns")
    n_rows, n_cols = x.shape
    y = torch.empty_like(x)  # allocation only; every element is written by the kernel
    if n_rows == 0 or n_cols == 0:
        return y
    block = triton.next_power_of_2(n_cols)
    one_block = block <= MAX_FUSED_BLOCK
    if not one_block:
        block = LOOP_BLOCK
    # One program per row: M programs, each reads N and writes N elements.
    softmax_kernel[(n_rows,)](
        y, x, x.stride(0), y.stride(0), n_cols,
        BLOCK=block, ONE_BLOCK=one_block, num_warps=_num_warps(block),
    )
    return y


# --- end of the part shared with kernels/triton_softmax.py ---
