"""Correct: two launches, row statistics first, then a 2-D grid of tiles normalises.

Kernel 1, one program per row: the row max, then sum(exp(x - max)), into two
float32 buffers of M values. Kernel 2, one program per (row, column tile):
exp(x - max[row]) / sum[row]. Reads x three times; simple, not fast.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def row_stats_kernel(max_ptr, sum_ptr, x_ptr, x_row_stride, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    x_row_ptr = x_ptr + row * x_row_stride
    cols = tl.arange(0, BLOCK)
    best = tl.full([BLOCK], -float("inf"), tl.float32)
    for start in range(0, n_cols, BLOCK):
        c = start + cols
        best = tl.maximum(best, tl.load(x_row_ptr + c, mask=c < n_cols, other=-float("inf")).to(tl.float32))
    row_max = tl.max(best, axis=0)
    acc = tl.zeros([BLOCK], tl.float32)
    for start in range(0, n_cols, BLOCK):
        c = start + cols
        x = tl.load(x_row_ptr + c, mask=c < n_cols, other=-float("inf")).to(tl.float32)
        acc += tl.exp(x - row_max)
    tl.store(max_ptr + row, row_max)
    tl.store(sum_ptr + row, tl.sum(acc, axis=0))


@triton.jit
def normalise_kernel(y_ptr, x_ptr, max_ptr, sum_ptr, x_row_stride, y_row_stride, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = c < n_cols
    x = tl.load(x_ptr + row * x_row_stride + c, mask=mask, other=-float("inf")).to(tl.float32)
    y = tl.exp(x - tl.load(max_ptr + row)) / tl.load(sum_ptr + row)
    tl.store(y_ptr + row * y_row_stride + c, y.to(y_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    block = min(triton.next_power_of_2(n_cols), 1024)
    y = torch.empty_like(x)
    row_max = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    row_sum = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    row_stats_kernel[(n_rows,)](row_max, row_sum, x, x.stride(0), n_cols, BLOCK=block)
    grid = (n_rows, triton.cdiv(n_cols, block))
    normalise_kernel[grid](y, x, row_max, row_sum, x.stride(0), y.stride(0), n_cols, BLOCK=block)
    return y
