# WRONG(rejected): computes exp with torch.exp and launches a kernel only to divide by the row sum
"""A Triton launch happens, but the exponentials are torch's (forbidden op 'exp')."""

import torch
import triton
import triton.language as tl


@triton.jit
def normalise_kernel(y_ptr, e_ptr, e_row_stride, y_row_stride, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    e = tl.load(e_ptr + row * e_row_stride + cols, mask=mask, other=0.0)
    tl.store(y_ptr + row * y_row_stride + cols, (e / tl.sum(e, axis=0)).to(y_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    e = torch.exp(x.float())
    y = torch.empty_like(x)
    normalise_kernel[(n_rows,)](y, e, e.stride(0), y.stride(0), n_cols, BLOCK=triton.next_power_of_2(n_cols))
    return y
