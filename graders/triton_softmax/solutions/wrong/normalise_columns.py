# WRONG(failed): normalises each column over the rows (softmax over dim 0), not each row
"""Each program takes a strip of 128 columns, all M rows, and reduces down axis 0."""

import torch
import triton
import triton.language as tl

BLOCK_N = 128


@triton.jit
def softmax_kernel(y_ptr, x_ptr, x_row_stride, y_row_stride, n_rows, n_cols,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    rows = tl.arange(0, BLOCK_M).to(tl.int64)[:, None]                       # (BLOCK_M, 1)
    cols = (tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N))[None, :]     # (1, BLOCK_N)
    mask = (rows < n_rows) & (cols < n_cols)                                 # (BLOCK_M, BLOCK_N)
    x = tl.load(x_ptr + rows * x_row_stride + cols, mask=mask, other=-float("inf")).to(tl.float32)
    num = tl.exp(x - tl.max(x, axis=0)[None, :])
    y = num / tl.sum(num, axis=0)[None, :]
    tl.store(y_ptr + rows * y_row_stride + cols, y.to(y_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    y = torch.empty_like(x)
    grid = (triton.cdiv(n_cols, BLOCK_N),)
    softmax_kernel[grid](y, x, x.stride(0), y.stride(0), n_rows, n_cols,
                         BLOCK_M=triton.next_power_of_2(n_rows), BLOCK_N=BLOCK_N)
    return y
