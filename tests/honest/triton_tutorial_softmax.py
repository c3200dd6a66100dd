# HONEST(triton_softmax, passed): sized from the device like the Triton tutorial's fused softmax
# (device properties, a warmup compile, occupancy from registers and shared memory, a persistent grid).
import torch
import triton
import triton.language as tl
from triton.runtime import driver

DEVICE = driver.active.get_active_torch_device()
PROPS = driver.active.utils.get_device_properties(DEVICE.index)
NUM_SM = PROPS["multiprocessor_count"]
NUM_REGS = PROPS["max_num_regs"]
SIZE_SMEM = PROPS["max_shared_mem"]
WARP_SIZE = PROPS["warpSize"]
TARGET = driver.active.get_current_target()
TORCH_PROPS = torch.cuda.get_device_properties(driver.active.get_current_device())
assert TORCH_PROPS.multi_processor_count == NUM_SM and TORCH_PROPS.warp_size == WARP_SIZE


def is_hip():
    return TARGET.backend == "hip"


@triton.jit
def softmax_kernel(y_ptr, x_ptr, x_row_stride, y_row_stride, n_rows, n_cols,
                   BLOCK_SIZE: tl.constexpr, num_stages: tl.constexpr):
    # persistent programs: each takes every num_programs-th row
    row_start = tl.program_id(0)
    row_step = tl.num_programs(0)
    for row in tl.range(row_start, n_rows, row_step, num_stages=num_stages):
        cols = tl.arange(0, BLOCK_SIZE)
        mask = cols < n_cols
        # read n_cols elements, write n_cols elements
        x = tl.load(x_ptr + row * x_row_stride + cols, mask=mask, other=-float("inf")).to(tl.float32)
        z = x - tl.max(x, axis=0)
        num = tl.exp(z)
        out = num / tl.sum(num, axis=0)
        tl.store(y_ptr + row * y_row_stride + cols, out.to(y_ptr.dtype.element_ty), mask=mask)


_kernels = {}


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    BLOCK_SIZE = triton.next_power_of_2(n_cols)
    num_warps = 8
    num_stages = 4 if SIZE_SMEM > 200000 else 2
    y = torch.empty_like(x)
    kernel, num_programs = _kernels.get((BLOCK_SIZE, x.dtype), (None, 0))
    if kernel is None:
        kernel = softmax_kernel.warmup(y, x, x.stride(0), y.stride(0), n_rows, n_cols, BLOCK_SIZE=BLOCK_SIZE,
                                       num_stages=num_stages, num_warps=num_warps, grid=(1,))
        kernel._init_handles()
        n_regs, size_smem = kernel.n_regs, kernel.metadata.shared
        assert kernel.n_spills == 0 or not is_hip()
        occupancy = NUM_REGS // (n_regs * WARP_SIZE * num_warps)
        occupancy = min(occupancy, SIZE_SMEM // size_smem)
        num_programs = NUM_SM * occupancy
        _kernels[(BLOCK_SIZE, x.dtype)] = (kernel, num_programs)
    num_programs = min(num_programs, n_rows)
    kernel[(num_programs, 1, 1)](y, x, x.stride(0), y.stride(0), n_rows, n_cols, BLOCK_SIZE, num_stages)
    return y
