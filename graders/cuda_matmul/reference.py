"""Reference solution of cuda_matmul: the kernel of kernels/cuda_matmul.cu.

CUDA_SRC is a copy of that file as a literal, because the grader reads it out of
this file without running it; tests/test_pack_cuda_matmul.py keeps the two the
same. The binding and the build are the starter's, unchanged.
"""

import tempfile

import torch
from torch.utils.cpp_extension import load_inline

# kernels/cuda_matmul.cu: 128 x 128 tiles of C per block, 8 x 8 per thread in registers, float4
# loads, double-buffered shared memory.
CUDA_SRC = r"""// C = A @ B in float32: A (M, K), B (K, N), C (M, N), all row-major and contiguous.
//
// Tiling, from the outside in:
//   block   one BM x BN = 128 x 128 tile of C, 256 threads, looping over K in steps of BK = 16
//   smem    two buffers, each an A tile (BM x BK) stored transposed as As[k][m] and a B tile
//           (BK x BN): the threads compute on one while the next tile's loads are in flight
//   thread  a TM x TN = 8 x 8 sub-tile of C held in registers (2-D register blocking): per k it
//           reads 8 values of A and 8 of B from shared memory and does 64 FMAs
// so every float read from shared memory feeds 8 FMAs, and every float read from global memory
// feeds BM (or BN) of them.
//
// A thread's 8 rows are two runs of 4 (4 ty .. 4 ty + 3, and the same + 64), and so are its 8
// columns: each run is one 16-byte shared-memory read (LDS.128), and the 16 threads of a row of
// the block read 16 consecutive float4 of Bs (no bank conflicts) and write 16 consecutive float4
// of C (coalesced).
//
// Global loads are float4 (16 bytes, one instruction) where the whole float4 is in range and
// aligned, which is every load when K and N are multiples of 4 and the pointers 16-byte aligned;
// otherwise each element is loaded on its own, bounds-checked, and out-of-range elements load as
// 0, which adds nothing to a dot product. Every store is bounds-checked. M, N, K need not be
// multiples of anything. Accumulation is in float32 with FMAs, K in order: no TF32, no tensor cores.

#include <stdint.h>

#define BM 128
#define BN 128
#define BK 16
#define TM 8
#define TN 8
#define THREADS ((BM / TM) * (BN / TN))  // 16 x 16 = 256
#define A_PAD 4                          // As row stride 132: rows stay 16-byte aligned for float4 reads
#define HALF_M (BM / 2)                  // a thread's second run of rows starts 64 below its first
#define HALF_N (BN / 2)
#define A_LOADS (BM * BK / 4 / THREADS)  // float4 of the A tile per thread: 2
#define B_LOADS (BK * BN / 4 / THREADS)  // float4 of the B tile per thread: 2

// 4 consecutive floats of one row of a (rows, cols) matrix starting at column col; those out of
// range are 0. One 16-byte load when all 4 are in range and vec (aligned rows) holds.
__device__ __forceinline__ float4 load4(const float* __restrict__ p, int row, int col, int rows, int cols,
                                        bool vec) {
    if (row >= rows) return make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    const float* q = p + (size_t)row * cols + col;
    if (vec && col + 3 < cols) return *reinterpret_cast<const float4*>(q);
    return make_float4(col < cols ? q[0] : 0.0f, col + 1 < cols ? q[1] : 0.0f,
                       col + 2 < cols ? q[2] : 0.0f, col + 3 < cols ? q[3] : 0.0f);
}

extern "C" __global__ void __launch_bounds__(THREADS)
matmul_kernel(const float* __restrict__ a_ptr, const float* __restrict__ b_ptr, float* __restrict__ c_ptr,
              int M, int N, int K) {
    __shared__ __align__(16) float As[2][BK][BM + A_PAD];  // 2 x (BK, BM): A tiles transposed, 16.5 KiB
    __shared__ __align__(16) float Bs[2][BK][BN];          // 2 x (BK, BN): B tiles, 16 KiB

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN);       // 0..15: columns 4 tx .. 4 tx + 3 and the same + 64
    const int ty = tid / (BN / TN);       // 0..15: rows 4 ty .. 4 ty + 3 and the same + 64
    const int row0 = blockIdx.y * BM;     // the C tile's first row and column
    const int col0 = blockIdx.x * BN;
    // 16-byte loads need every row of A (of B) to start on a 16-byte boundary.
    const bool vec_a = K % 4 == 0 && reinterpret_cast<uintptr_t>(a_ptr) % 16 == 0;
    const bool vec_b = N % 4 == 0 && reinterpret_cast<uintptr_t>(b_ptr) % 16 == 0;
    const bool vec_c = N % 4 == 0 && reinterpret_cast<uintptr_t>(c_ptr) % 16 == 0;

    // Which float4 of the tiles this thread loads: A tile element (m, 4 q) for idx = 4 m + q (a warp
    // reads 8 rows x 64 bytes of A), B tile element (k, 4 q) for idx = 32 k + q (a warp reads 512
    // consecutive bytes of one row of B).
    float4 a_next[A_LOADS], b_next[B_LOADS];
    auto load_tiles = [&](int k0) {
        #pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int idx = tid + i * THREADS;
            a_next[i] = load4(a_ptr, row0 + idx / (BK / 4), k0 + 4 * (idx % (BK / 4)), M, K, vec_a);
        }
        #pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            const int idx = tid + i * THREADS;
            b_next[i] = load4(b_ptr, k0 + idx / (BN / 4), col0 + 4 * (idx % (BN / 4)), K, N, vec_b);
        }
    };
    auto store_tiles = [&](int buf) {
        #pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int idx = tid + i * THREADS;
            const int m = idx / (BK / 4), k = 4 * (idx % (BK / 4));
            As[buf][k][m] = a_next[i].x;   // transposed: one float per row of As
            As[buf][k + 1][m] = a_next[i].y;
            As[buf][k + 2][m] = a_next[i].z;
            As[buf][k + 3][m] = a_next[i].w;
        }
        #pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            const int idx = tid + i * THREADS;
            *reinterpret_cast<float4*>(&Bs[buf][idx / (BN / 4)][4 * (idx % (BN / 4))]) = b_next[i];
        }
    };

    float acc[TM][TN] = {};               // (TM, TN) sub-tile of C, in registers
    float a_frag[TM];
    float b_frag[TN];

    const int tiles = (K + BK - 1) / BK;
    if (tiles > 0) {
        load_tiles(0);
        store_tiles(0);
    }
    __syncthreads();  // the first tiles are complete before anyone reads them
    for (int t = 0; t < tiles; ++t) {
        const int buf = t & 1;
        if (t + 1 < tiles) load_tiles((t + 1) * BK);   // in flight while this tile is computed

        #pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][4 * ty]);
            const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][4 * ty + HALF_M]);
            const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][4 * tx]);
            const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][4 * tx + HALF_N]);
            a_frag[0] = a0.x; a_frag[1] = a0.y; a_frag[2] = a0.z; a_frag[3] = a0.w;
            a_frag[4] = a1.x; a_frag[5] = a1.y; a_frag[6] = a1.z; a_frag[7] = a1.w;
            b_frag[0] = b0.x; b_frag[1] = b0.y; b_frag[2] = b0.z; b_frag[3] = b0.w;
            b_frag[4] = b1.x; b_frag[5] = b1.y; b_frag[6] = b1.z; b_frag[7] = b1.w;
            #pragma unroll
            for (int i = 0; i < TM; ++i)
                #pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a_frag[i], b_frag[j], acc[i][j]);
        }
        // The other buffer was last read in step t - 1, which everyone finished before the barrier
        // that ended it: it can take the next tiles now. One barrier per step then makes them
        // visible before step t + 1 reads them, and keeps this buffer until everyone is done with it.
        if (t + 1 < tiles) store_tiles(buf ^ 1);
        __syncthreads();
    }

    #pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int row = row0 + 4 * ty + (i % 4) + (i / 4) * HALF_M;
        if (row >= M) continue;
        #pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int col = col0 + 4 * tx + half * HALF_N;
            float* out = c_ptr + (size_t)row * N + col;
            const float* v = &acc[i][4 * half];
            if (vec_c && col + 3 < N) {
                *reinterpret_cast<float4*>(out) = make_float4(v[0], v[1], v[2], v[3]);
            } else {
                #pragma unroll
                for (int j = 0; j < 4; ++j)
                    if (col + j < N) out[j] = v[j];
            }
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
