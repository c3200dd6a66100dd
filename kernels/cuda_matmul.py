"""The reference float32 matmul in CUDA (kernels/cuda_matmul.cu): built, checked, measured.

Why: a GEMM is the kernel every GPU engineer should be able to write and reason
about. A naive kernel (one thread per output) reads 2*K floats from global memory
per FMA pair and runs at a few percent of the GPU; tiling through shared memory
and keeping an 8 x 8 block of C per thread in registers makes every load feed
many FMAs; 16-byte loads and a second shared-memory buffer (the next tile's
loads in flight while this one is computed) keep the memory system busy.
cuBLAS in plain float32 (TF32 off) is the bar to compare against.

    python kernels/cuda_matmul.py    # needs a CUDA GPU, nvcc and ninja

prints a check on odd shapes, then TFLOP/s against torch.matmul. Without a GPU it
says so and exits; the kernel still compiles with
`nvcc -c -arch=sm_90 kernels/cuda_matmul.cu` (tests/test_pack_cuda_matmul.py does that).
"""

from __future__ import annotations

import functools
import math
import statistics
import tempfile
from pathlib import Path

import torch

KERNEL_SOURCE = Path(__file__).resolve().parent / "cuda_matmul.cu"

# The torch binding, the same as the exercise's starter (a test keeps them equal): checks the
# inputs, allocates C and calls matmul_launch on torch's current stream.
CPP_SRC = r"""
#include <torch/extension.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream);

torch::Tensor matmul(torch::Tensor a, torch::Tensor b) {
    TORCH_CHECK(a.is_cuda() && b.is_cuda(), "matmul: a and b must be CUDA tensors");
    TORCH_CHECK(a.scalar_type() == torch::kFloat32 && b.scalar_type() == torch::kFloat32, "matmul: float32 only");
    TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "matmul: expected (M, K) @ (K, N)");
    TORCH_CHECK(a.size(0) <= INT_MAX && a.size(1) <= INT_MAX && b.size(1) <= INT_MAX, "matmul: too large");
    a = a.contiguous();
    b = b.contiguous();
    const c10::cuda::CUDAGuard device_guard(a.device());
    auto c = torch::empty({a.size(0), b.size(1)}, a.options());  // (M, N)
    matmul_launch(a.data_ptr<float>(), b.data_ptr<float>(), c.data_ptr<float>(),
                  static_cast<int>(a.size(0)), static_cast<int>(b.size(1)), static_cast<int>(a.size(1)),
                  c10::cuda::getCurrentCUDAStream());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return c;
}
"""


@functools.cache
def _extension():
    from torch.utils.cpp_extension import load_inline

    return load_inline(
        name="cuda_matmul_kernel",
        cpp_sources=CPP_SRC,
        cuda_sources=KERNEL_SOURCE.read_text(encoding="utf-8"),
        functions=["matmul"],
        extra_cuda_cflags=["-O3"],
        no_implicit_headers=True,
        build_directory=tempfile.mkdtemp(prefix="cuda_matmul_"),
    )


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # (M, K) @ (K, N) -> (M, N): 2*M*N*K flops; reads 4*(M*K + K*N) bytes at least, writes 4*M*N
    return _extension().matmul(a, b)


def check(shapes=((1823, 781, 129), (1, 1, 1), (129, 127, 255), (300, 200, 1))) -> None:
    """Odd shapes against float64, with the exercise's tolerance: 1e-4 * sqrt(K) + 1e-4 * |ref|."""
    for M, N, K in shapes:
        a = torch.randn(M, K, device="cuda")
        b = torch.randn(K, N, device="cuda")
        want = a.double() @ b.double()
        err = (matmul(a, b).double() - want).abs()
        allowed = 1e-4 * math.sqrt(K) + 1e-4 * want.abs()
        worst = (err / allowed).max().item()
        print(f"check {M:>5} x {N:>5} x {K:>5}: max abs error {err.max().item():.2e}, "
              f"{worst:.3f} of the tolerance")
        assert worst <= 1.0, f"{M} x {N} x {K}: outside the tolerance"


def _median_ms(fn, reps: int = 20) -> float:
    """Median time of one call by CUDA events, after a warm-up; each rep is timed on its own."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def benchmark(sizes=(1024, 2048, 4096, 8192)) -> None:
    """TFLOP/s of this kernel and of torch.matmul (cuBLAS) in true float32, square sizes."""
    torch.backends.cuda.matmul.allow_tf32 = False  # cuBLAS in float32, like the kernel
    print(f"{'size':>6} {'kernel TFLOP/s':>15} {'cuBLAS TFLOP/s':>15} {'kernel / cuBLAS':>16}")
    for n in sizes:
        a = torch.randn(n, n, device="cuda")
        b = torch.randn(n, n, device="cuda")
        ours = _median_ms(lambda: matmul(a, b))
        cublas = _median_ms(lambda: torch.matmul(a, b))
        flops = 2.0 * n ** 3
        print(f"{n:>6} {flops / ours / 1e9:>15.1f} {flops / cublas / 1e9:>15.1f} {cublas / ours:>16.2f}")


if __name__ == "__main__":
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to run "
              f"(the kernel still compiles: nvcc -c -arch=sm_90 {KERNEL_SOURCE})")
        raise SystemExit(0)
    print(torch.cuda.get_device_name())
    check()
    benchmark()
