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

MAX_FUSED_BLOCK = 16384  # widest row held in registers. At 32768 (H200): 73% of copy against the
                         # loop's 78%; compiled for sm_90 it takes 94 registers a thread at 16
                         # warps: one program an SM, which is either loading or reducing
LOOP_BLOCK = 8192        # columns per step of the online loop for wider rows
WIDE_PER_SM = 2          # online-path programs an sm_90 SM holds at once (100 registers a thread at
                         # 8 warps: benchmarks/kernel_resources.py); 16 KiB of loads in flight each
MIN_TILE = 1024          # short rows share a program: ROWS = MIN_TILE // BLOCK rows a program


@triton.jit
def softmax_kernel(
    y_ptr, x_ptr,              # (M, N) each, columns contiguous
    x_row_stride, y_row_stride,
    n_rows, n_cols,
    BLOCK: tl.constexpr,       # power of two; >= n_cols when ONE_BLOCK
    ROWS: tl.constexpr,        # rows a program holds at once (ONE_BLOCK only, else 1)
    ONE_BLOCK: tl.constexpr,   # the whole row fits in one block
):
    cols = tl.arange(0, BLOCK)                                         # (BLOCK,)
    if ONE_BLOCK:
        # One tile of ROWS whole rows a program. Padding loads as -inf: it never wins the
        # max and its exp is exactly 0. A row past n_rows (the last tile's) is all padding:
        # its max is taken as 0 and its sum as 1, so it computes zeros, never NaN, and is
        # not stored. A real row keeps its own max and sum, so a NaN or +inf in it makes the
        # whole row NaN, as in torch (a clamp of the sum to 1 would hide it: tl.maximum
        # drops NaN, and the row would come out unnormalised).
        rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)  # (ROWS,) int64: M * N may pass 2**31
        mask = (rows < n_rows)[:, None] & (cols < n_cols)[None, :]     # (ROWS, BLOCK)
        # Read once, never again: evict_first keeps L2 for the other rows.
        x = tl.load(x_ptr + rows[:, None] * x_row_stride + cols[None, :], mask=mask,
                    other=-float("inf"), eviction_policy="evict_first").to(tl.float32)  # (ROWS, BLOCK)
        x_max = tl.where(rows < n_rows, tl.max(x, axis=1), 0.0)        # (ROWS,)
        num = tl.exp(x - x_max[:, None])                               # (ROWS, BLOCK) in [0, 1]
        den = tl.where(rows < n_rows, tl.sum(num, axis=1), 1.0)        # (ROWS,)
        y = num * (1.0 / den)[:, None]
        tl.store(y_ptr + rows[:, None] * y_row_stride + cols[None, :], y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        # Persistent: program p walks rows p, p + P, p + 2P, ... (P programs launched), so
        # only P rows are in flight at once, and the launcher sizes P for those rows to fit
        # in L2 between a row's two walks.
        # int64 rows: M * N may pass 2**31.
        for row in tl.range(tl.program_id(0).to(tl.int64), n_rows, tl.num_programs(0)):
            x_row_ptr = x_ptr + row * x_row_stride
            y_row_ptr = y_ptr + row * y_row_stride
            # Online softmax, one running (max, sum) per lane: lane j sees columns
            # j, j + BLOCK, j + 2 * BLOCK, ... and rescales its sum whenever its max
            # grows. The lanes are merged once at the end, not every step.
            # A lane that has seen only -inf so far (masked scores, or the padding of
            # the last step) shifts by 0 instead of by its max: -inf - -inf is NaN.
            m = tl.full([BLOCK], -float("inf"), tl.float32)            # (BLOCK,)
            s = tl.zeros([BLOCK], tl.float32)                          # (BLOCK,)
            for start in range(0, n_cols, BLOCK):
                c = start + cols
                # evict_last: the second walk below reads this row again, from L2.
                x = tl.load(x_row_ptr + c, mask=c < n_cols, other=-float("inf"),
                            eviction_policy="evict_last").to(tl.float32)
                m_new = tl.maximum(m, x)
                shift = tl.where(m_new == -float("inf"), 0.0, m_new)
                s = s * tl.exp(m - shift) + tl.exp(x - shift)
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


def _num_warps(elements: int) -> int:
    # At most 64 fp32 values a thread (16 or more from 2048 elements up): enough
    # loads in flight to cover DRAM latency, few enough registers not to spill.
    if elements >= 16384:
        return 16
    if elements >= 4096:
        return 8
    return 4


def _wide_programs(x: torch.Tensor) -> int:
    """Programs for the online path: a persistent grid, all of it resident at once (a
    program that waits for a slot would start after the others had finished their share
    of rows), and no more rows in flight than half the L2 holds, so that a row is still
    there for its second walk; but at least one program an SM, or SMs idle (rows that
    wide miss L2 anyway). On the CPU (the interpreter) a few, so the row loop runs."""
    n_rows, n_cols = x.shape
    if not x.is_cuda:
        return min(n_rows, 3)
    props = torch.cuda.get_device_properties(x.device)
    sms = props.multi_processor_count
    fit = props.L2_cache_size // (2 * n_cols * x.element_size())
    return min(n_rows, WIDE_PER_SM * sms, max(sms, fit))


def _launch(x: torch.Tensor, y: torch.Tensor, block: int, rows: int, one_block: bool, programs: int) -> None:
    softmax_kernel[(programs,)](
        y, x, x.stride(0), y.stride(0), x.shape[0], x.shape[1],
        BLOCK=block, ROWS=rows, ONE_BLOCK=one_block, num_warps=_num_warps(rows * block),
    )


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
    if block <= MAX_FUSED_BLOCK:
        rows = max(1, MIN_TILE // block)
        _launch(x, y, block, rows, True, triton.cdiv(n_rows, rows))  # each reads ROWS rows once, writes them once
    else:
        _launch(x, y, LOOP_BLOCK, 1, False, _wide_programs(x))        # each walks its rows twice, writes once
    return y


# --- end of the part shared with kernels/triton_softmax.py ---
