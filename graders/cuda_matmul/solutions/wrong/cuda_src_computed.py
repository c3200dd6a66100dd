# WRONG(failed): CUDA_SRC is computed with str.format, not a literal the grader can read without running it
"""The kernel itself is right; the contract asks for CUDA_SRC as a plain string literal."""

import tempfile

import torch
from torch.utils.cpp_extension import load_inline

KERNEL_TEMPLATE = r"""
#define TILE {tile}

// Classic shared-memory tiling: a 32 x 32 block of threads computes a 32 x 32 tile of C, stepping
// through K 32 at a time. Out-of-range elements of the A and B tiles load as 0.
extern "C" __global__ void matmul_tiled_kernel(const float* __restrict__ a_ptr, const float* __restrict__ b_ptr,
                                               float* __restrict__ c_ptr, int M, int N, int K) {{
    __shared__ float As[TILE][TILE];  // (rows of C's tile, a K slice)
    __shared__ float Bs[TILE][TILE];  // (a K slice, columns of C's tile)
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * TILE + ty;
    const int col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TILE) {{
        As[ty][tx] = (row < M && k0 + tx < K) ? a_ptr[(size_t)row * K + k0 + tx] : 0.0f;
        Bs[ty][tx] = (k0 + ty < K && col < N) ? b_ptr[(size_t)(k0 + ty) * N + col] : 0.0f;
        __syncthreads();  // both tiles complete before anyone reads them
        #pragma unroll
        for (int k = 0; k < TILE; ++k) acc = fmaf(As[ty][k], Bs[k][tx], acc);
        __syncthreads();  // everyone done reading before the next loads overwrite them
    }}
    if (row < M && col < N) c_ptr[(size_t)row * N + col] = acc;
}}

extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream) {{
    if (M == 0 || N == 0) return;
    const dim3 block(TILE, TILE);
    const dim3 grid((N + TILE - 1) / TILE, (M + TILE - 1) / TILE);
    matmul_tiled_kernel<<<grid, block, 0, stream>>>(a_ptr, b_ptr, c_ptr, M, N, K);
}}
"""

CUDA_SRC = KERNEL_TEMPLATE.format(tile=32)

# The torch binding, compiled by the host C++ compiler: checks the inputs, allocates C and calls
# matmul_launch on torch's current stream.
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

# Built once, when this file is imported: about a minute, mostly the torch headers of CPP_SRC.
# no_implicit_headers: CUDA_SRC is compiled exactly as written, as the grader compiles it.
_extension = load_inline(
    name="cuda_matmul_template",
    cpp_sources=CPP_SRC,
    cuda_sources=CUDA_SRC,
    functions=["matmul"],
    extra_cuda_cflags=["-O3"],
    no_implicit_headers=True,
    build_directory=tempfile.mkdtemp(prefix="cuda_matmul_"),
)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(M, K) @ (K, N) -> (M, N): float32 CUDA tensors in, a new float32 CUDA tensor out."""
    return _extension.matmul(a, b)
