"""A reference GPU for code graded under the Triton interpreter (TRITON_INTERPRET=1, on a CPU).

Kernel authors size their launches from the device: the Triton tutorial's
fused softmax asks for the number of SMs, registers per SM, shared memory and
the warp size (`triton.runtime.driver.active.utils.get_device_properties`),
compiles ahead with `kernel.warmup(...)`, reads `n_regs` and
`metadata.shared` to compute occupancy, and launches the compiled kernel. On a
CPU none of that exists ("0 active drivers"), so correct GPU code would crash
before its kernel ran. Here those queries answer with the published figures
of one reference GPU, the NVIDIA H100 SXM (the H200 has the same SM), and
`warmup()` returns a stand-in for the compiled kernel that launches the
interpreted one. Only the figures are pretended: the kernel still runs, in
the interpreter, on the real inputs.

Installed by the worker before the submission loads, in interpreter mode only
(never next to a real GPU).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

# NVIDIA H100 SXM5 (compute capability 9.0): CUDA C Programming Guide, table of technical
# specifications per compute capability, and the H100 datasheet.
REFERENCE_GPU = "NVIDIA H100 80GB HBM3"
CAPABILITY = (9, 0)
SM_COUNT = 132
REGS_PER_SM = 65536                   # 32-bit registers per SM
SMEM_PER_BLOCK_OPTIN = 232448         # 227 KiB: the most one block may opt in to
SMEM_PER_BLOCK = 49152                # 48 KiB without opting in
SMEM_PER_SM = 233472                  # 228 KiB
WARP_SIZE = 32
MAX_THREADS_PER_SM = 2048
L2_BYTES = 50 * 1024 * 1024
TOTAL_MEMORY = 80 * 1024 ** 3
SM_CLOCK_KHZ = 1980000
MEM_CLOCK_KHZ = 2619000
MEM_BUS_WIDTH = 5120

# What warmup() reports for any kernel: nominal figures (a real compile decides them per kernel).
# 32 registers and no spills; the scratch a cross-warp reduction needs (one float per warp, twice).
NOMINAL_REGS = 32
NOMINAL_SMEM_PER_WARP = 2 * 4 * WARP_SIZE

# triton.runtime.driver.active.utils.get_device_properties(device): the NVIDIA backend's keys.
TRITON_PROPERTIES = {
    "max_shared_mem": SMEM_PER_BLOCK_OPTIN, "max_num_regs": REGS_PER_SM, "multiprocessor_count": SM_COUNT,
    "warpSize": WARP_SIZE, "sm_clock_rate": SM_CLOCK_KHZ, "mem_clock_rate": MEM_CLOCK_KHZ,
    "mem_bus_width": MEM_BUS_WIDTH,
}


def torch_properties() -> SimpleNamespace:
    """What torch.cuda.get_device_properties(...) returns on the reference GPU."""
    return SimpleNamespace(
        name=REFERENCE_GPU, major=CAPABILITY[0], minor=CAPABILITY[1], multi_processor_count=SM_COUNT,
        total_memory=TOTAL_MEMORY, is_integrated=0, is_multi_gpu_board=0,
        max_threads_per_multi_processor=MAX_THREADS_PER_SM, gcnArchName="NVIDIA", warp_size=WARP_SIZE,
        uuid="", L2_cache_size=L2_BYTES, clock_rate=SM_CLOCK_KHZ, memory_clock_rate=MEM_CLOCK_KHZ,
        memory_bus_width=MEM_BUS_WIDTH, regs_per_multiprocessor=REGS_PER_SM,
        shared_memory_per_block=SMEM_PER_BLOCK, shared_memory_per_block_optin=SMEM_PER_BLOCK_OPTIN,
        max_shared_memory_per_block_optin=SMEM_PER_BLOCK_OPTIN, shared_memory_per_multiprocessor=SMEM_PER_SM,
    )


class InterpretedKernel:
    """What `kernel.warmup(...)` returns on a GPU (a CompiledKernel), for an interpreted kernel."""

    def __init__(self, fn, kwargs: dict):
        self.fn = fn
        # constexprs given by keyword at warmup are baked into a compiled kernel; launches may omit them
        self.constants = {k: v for k, v in kwargs.items() if k in fn.arg_names}
        num_warps = int(kwargs.get("num_warps", 4))
        self.n_regs, self.n_spills, self.n_max_threads = NOMINAL_REGS, 0, WARP_SIZE * num_warps
        self.metadata = SimpleNamespace(
            name=fn.__name__, num_warps=num_warps, num_stages=int(kwargs.get("num_stages", 3)), num_ctas=1,
            shared=NOMINAL_SMEM_PER_WARP * num_warps, target=_target(),
        )
        self.name = fn.__name__

    def _init_handles(self) -> None:
        pass  # nothing to load: the interpreter runs the Python function itself

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            named = dict(zip(self.fn.arg_names, args))
            extra = {k: v for k, v in self.constants.items() if k not in named and k not in kwargs}
            kwargs.pop("stream", None)
            return self.fn[grid](*args, **extra, **kwargs)
        return launch


_TARGET = []   # the GPUTarget, made at install (no import once candidate code is on the stack)


def _target():
    return _TARGET[0]


class InterpreterDriver:
    """triton.runtime.driver.active under the interpreter: the reference GPU's answers."""

    def __init__(self):
        import torch

        self.utils = SimpleNamespace(get_device_properties=lambda device=None: dict(TRITON_PROPERTIES))
        self._torch = torch

    def get_current_device(self) -> int:
        return 0

    def set_current_device(self, device) -> None:
        pass

    def get_current_stream(self, device=None) -> int:
        return 0

    def get_device_capability(self, device=None) -> tuple[int, int]:
        return CAPABILITY

    def get_current_target(self):
        return _target()

    def get_active_torch_device(self):
        return self._torch.device("cpu")   # the interpreter's tensors live on the CPU

    def get_device_interface(self):
        return self._torch.cpu

    def is_active(self) -> bool:
        return True


def install() -> bool:
    """In interpreter mode without a GPU: answer device queries as the reference GPU. Whether it did."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return False
    try:
        import torch
        import triton.runtime
        from triton.backends.compiler import GPUTarget
        from triton.runtime.interpreter import InterpretedFunction
    except ImportError:
        return False   # an exercise without Triton
    if torch.cuda.is_available():
        return False
    _TARGET[:] = [GPUTarget("cuda", CAPABILITY[0] * 10 + CAPABILITY[1], WARP_SIZE)]
    triton.runtime.driver.set_active(InterpreterDriver())
    torch.cuda.get_device_properties = lambda device=None: torch_properties()
    InterpretedFunction.warmup = lambda self, *args, grid=None, **kwargs: InterpretedKernel(self, kwargs)
    return True
