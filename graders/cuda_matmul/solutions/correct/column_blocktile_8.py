"""Correct: 64 x 64 tiles, each thread 8 rows of one column in registers.

1-D register blocking with bounds-checked loads and stores.
"""

import tempfile

import torch
from torch.utils.cpp_extension import load_inline

CUDA_SRC = r"""
#define BM 64
#define BN 64
#define BK 8
#define TM 8
#define THREADS (BM * BN / TM)  // 512

// 1-D register blocking: each thread computes TM = 8 rows of one column of a 64 x 64 tile of C,
// so each value of B read from shared memory feeds 8 FMAs. 512 threads load the 64 x 8 A tile
// and the 8 x 64 B tile with one element each per step.
extern "C" __global__ void __launch_bounds__(THREADS)
matmul_column_kernel(const float* __restrict__ a_ptr, const float* __restrict__ b_ptr, float* __restrict__ c_ptr,
                     int M, int N, int K) {
    __shared__ float As[BM][BK];  // (BM, BK)
    __shared__ float Bs[BK][BN];  // (BK, BN)
    const int tid = threadIdx.x;
    const int tcol = tid % BN, trow = tid / BN;  // this thread: column tcol, rows trow * TM ..
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
    const int a_r = tid / BK, a_c = tid % BK;    // the element of the A tile this thread loads
    const int b_r = tid / BN, b_c = tid % BN;    // and of the B tile
    float acc[TM] = {};
    for (int k0 = 0; k0 < K; k0 += BK) {
        As[a_r][a_c] = (row0 + a_r < M && k0 + a_c < K) ? a_ptr[(size_t)(row0 + a_r) * K + k0 + a_c] : 0.0f;
        Bs[b_r][b_c] = (k0 + b_r < K && col0 + b_c < N) ? b_ptr[(size_t)(k0 + b_r) * N + col0 + b_c] : 0.0f;
        __syncthreads();
        #pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float b = Bs[k][tcol];
            #pragma unroll
            for (int i = 0; i < TM; ++i) acc[i] = fmaf(As[trow * TM + i][k], b, acc[i]);
        }
        __syncthreads();
    }
    #pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int row = row0 + trow * TM + i, col = col0 + tcol;
        if (row < M && col < N) c_ptr[(size_t)row * N + col] = acc[i];
    }
}

extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream) {
    if (M == 0 || N == 0) return;
    const dim3 grid((N + BN - 1) / BN, (M + BM - 1) / BM);
    matmul_column_kernel<<<grid, THREADS, 0, stream>>>(a_ptr, b_ptr, c_ptr, M, N, K);
}
"""

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
    name="cuda_matmul_column",
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
