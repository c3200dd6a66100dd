# WRONG(failed): normalises each column over the rows (softmax over dim 0), not each row
"""One program per column, walking down the rows with stride x_row_stride."""

import torch
import triton
import triton.language as tl


@triton.jit
def softmax_kernel(y_ptr, x_ptr, x_row_stride, y_row_stride, n_rows, BLOCK: tl.constexpr):
    col = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK).to(tl.int64)
    mask = rows < n_rows
    x = tl.load(x_ptr + rows * x_row_stride + col, mask=mask, other=-float("inf")).to(tl.float32)
    num = tl.exp(x - tl.max(x, axis=0))
    y = num / tl.sum(num, axis=0)
    tl.store(y_ptr + rows * y_row_stride + col, y.to(y_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    y = torch.empty_like(x)
    softmax_kernel[(n_cols,)](y, x, x.stride(0), y.stride(0), n_rows, BLOCK=triton.next_power_of_2(n_rows))
    return y
