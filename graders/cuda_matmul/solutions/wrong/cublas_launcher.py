# WRONG(rejected): matmul_launch calls cuBLAS (cublasSgemm) instead of a kernel of its own
"""Right answers, but the library's GEMM, not the candidate's: the grader sees the cuBLAS
symbols in the compiled object, with or without a GPU.
"""

import tempfile

import torch
from torch.utils.cpp_extension import load_inline

CUDA_SRC = r"""
// cuBLAS's API declared by hand (no header needed), linked with -lcublas in the build below.
typedef struct cublasContext* cublasHandle_t;
extern "C" int cublasCreate_v2(cublasHandle_t* handle);
extern "C" int cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream);
extern "C" int cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc);

extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream) {
    static cublasHandle_t handle = nullptr;
    if (handle == nullptr) cublasCreate_v2(&handle);
    cublasSetStream_v2(handle, stream);
    const float one = 1.0f, zero = 0.0f;
    // row-major C = A B is column-major C^T = B^T A^T: an (N, M) result, no transposes
    cublasSgemm_v2(handle, 0, 0, N, M, K, &one, b_ptr, N, a_ptr, K, &zero, c_ptr, N);
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
    name="cuda_matmul_cublas",
    cpp_sources=CPP_SRC,
    cuda_sources=CUDA_SRC,
    functions=["matmul"],
    extra_cuda_cflags=["-O3"],
    no_implicit_headers=True,
    extra_ldflags=["-lcublas"],
    build_directory=tempfile.mkdtemp(prefix="cuda_matmul_"),
)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(M, K) @ (K, N) -> (M, N): float32 CUDA tensors in, a new float32 CUDA tensor out."""
    return _extension.matmul(a, b)
