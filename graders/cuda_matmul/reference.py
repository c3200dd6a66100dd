"""Reference solution of cuda_matmul: the kernel of kernels/cuda_matmul.cu.

CUDA_SRC is a copy of that file as a literal, because the grader reads it out of
this file without running it; tests/test_pack_cuda_matmul.py keeps the two the
same. The binding and the build are the starter's, unchanged.
"""

import tempfile

import torch
from torch.utils.cpp_extension import load_inline

# kernels/cuda_matmul.cu: 128 x 128 tiles of C per block, 8 x 8 per thread in registers.
CUDA_SRC = r"""// C = A @ B in float32: A (M, K), B (K, N), C (M, N), all row-major and contiguous.
//
// Tiling, from the outside in:
//   block   one BM x BN = 128 x 128 tile of C, 256 threads, looping over K in steps of BK = 16
//   smem    per step: an A tile (BM x BK) stored transposed as As[k][m], and a B tile (BK x BN)
//   thread  a TM x TN = 8 x 8 sub-tile of C held in registers (2-D register blocking): per k it
//           reads 8 values of A and 8 of B from shared memory and does 64 FMAs
// so every float read from shared memory feeds 8 FMAs, and every float read from global memory
// feeds BM (or BN) of them.
//
// A thread's 8 rows are strided by 16 (ty, ty + 16, ..., ty + 112), and so are its 8 columns: the
// 32 threads of a warp then read 16 consecutive floats of As / Bs (no bank conflicts) and write
// runs of 16 consecutive floats of C (coalesced), instead of strides of 8.
//
// Odd shapes: every global load is bounds-checked and out-of-range elements load as 0, which adds
// nothing to a dot product; every store is bounds-checked. M, N, K need not be multiples of anything.
// Accumulation is in float32 with FMAs, K in order: no TF32, no tensor cores.

#define BM 128
#define BN 128
#define BK 16
#define TM 8
#define TN 8
#define THREADS ((BM / TM) * (BN / TN))  // 16 x 16 = 256
#define A_PAD 2                          // As row stride 130 = 2 (mod 32): see the A tile load

extern "C" __global__ void __launch_bounds__(THREADS)
matmul_kernel(const float* __restrict__ a_ptr, const float* __restrict__ b_ptr, float* __restrict__ c_ptr,
              int M, int N, int K) {
    __shared__ float As[BK][BM + A_PAD];  // (BK, BM): the A tile transposed, 8.1 KiB
    __shared__ float Bs[BK][BN];          // (BK, BN): the B tile, 8 KiB

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN);       // 0..15: this thread's columns are tx + 16 * j
    const int ty = tid / (BN / TN);       // 0..15: this thread's rows are ty + 16 * i
    const int row0 = blockIdx.y * BM;     // the C tile's first row and column
    const int col0 = blockIdx.x * BN;

    float acc[TM][TN] = {};               // (TM, TN) sub-tile of C, in registers
    float a_frag[TM];
    float b_frag[TN];

    for (int k0 = 0; k0 < K; k0 += BK) {
        // A tile: BM * BK = 2048 floats, 8 per thread. Consecutive threads take consecutive k of
        // one row (a warp reads 2 rows x 64 bytes of A) and store them transposed into As: with
        // the row stride 130, the warp's 16 k x 2 m stores land in 32 different banks.
        #pragma unroll
        for (int i = 0; i < BM * BK / THREADS; ++i) {
            const int idx = tid + i * THREADS;
            const int m = idx / BK, k = idx % BK;
            const int row = row0 + m, kk = k0 + k;
            As[k][m] = (row < M && kk < K) ? a_ptr[(size_t)row * K + kk] : 0.0f;
        }
        // B tile: BK * BN = 2048 floats, 8 per thread; a warp reads 32 consecutive floats of a row.
        #pragma unroll
        for (int i = 0; i < BK * BN / THREADS; ++i) {
            const int idx = tid + i * THREADS;
            const int k = idx / BN, n = idx % BN;
            const int kk = k0 + k, col = col0 + n;
            Bs[k][n] = (kk < K && col < N) ? b_ptr[(size_t)kk * N + col] : 0.0f;
        }
        __syncthreads();  // the tiles are complete before anyone reads them

        #pragma unroll
        for (int k = 0; k < BK; ++k) {
            #pragma unroll
            for (int i = 0; i < TM; ++i) a_frag[i] = As[k][ty + i * (BM / TM)];
            #pragma unroll
            for (int j = 0; j < TN; ++j) b_frag[j] = Bs[k][tx + j * (BN / TN)];
            #pragma unroll
            for (int i = 0; i < TM; ++i)
                #pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a_frag[i], b_frag[j], acc[i][j]);
        }
        __syncthreads();  // everyone is done reading before the next step overwrites the tiles
    }

    #pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int row = row0 + ty + i * (BM / TM);
        if (row >= M) continue;
        #pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int col = col0 + tx + j * (BN / TN);
            if (col < N) c_ptr[(size_t)row * N + col] = acc[i][j];
        }
    }
}

// The launcher the torch binding calls: one block per 128 x 128 tile of C, on the caller's stream.
extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream) {
    if (M == 0 || N == 0) return;  // nothing to write, and a grid of 0 blocks is a launch error
    const dim3 grid((N + BN - 1) / BN, (M + BM - 1) / BM);
    matmul_kernel<<<grid, THREADS, 0, stream>>>(a_ptr, b_ptr, c_ptr, M, N, K);
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
    name="cuda_matmul_reference",
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
