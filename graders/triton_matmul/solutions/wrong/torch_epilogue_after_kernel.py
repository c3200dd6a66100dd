# WRONG(rejected): computes a @ b in a Triton kernel (float32 out), then adds the bias and applies the activation with torch (add, relu, gelu)
"""The product is the candidate's own; the epilogue is not (forbidden ops 'add', 'relu', 'gelu')."""

import torch
import torch.nn.functional as F
import triton
import triton.language as tl


@triton.jit
def matmul_kernel(a_ptr, b_ptr, z_ptr, M, N, K, sam, sak, sbk, sbn,
                  BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k0 in range(0, K, BK):
        kk = k0 + tl.arange(0, BK)
        a = tl.load(a_ptr + rm[:, None] * sam + kk[None, :] * sak,
                    mask=(rm[:, None] < M) & (kk[None, :] < K), other=0.0)
        b = tl.load(b_ptr + kk[:, None] * sbk + rn[None, :] * sbn,
                    mask=(kk[:, None] < K) & (rn[None, :] < N), other=0.0)
        acc = tl.dot(a, b, acc)
    tl.store(z_ptr + rm[:, None] * N + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))


def matmul(a, b, bias=None, activation=None):
    M, K = a.shape
    N = b.shape[1]
    z = torch.empty((M, N), device=a.device, dtype=torch.float32)
    matmul_kernel[(triton.cdiv(M, 32), triton.cdiv(N, 32))](a, b, z, M, N, K, a.stride(0), a.stride(1),
                                                            b.stride(0), b.stride(1), BM=32, BN=32, BK=32)
    if bias is not None:
        z = z + bias.float()
    if activation == "relu":
        z = F.relu(z)
    elif activation == "gelu":
        z = F.gelu(z, approximate="tanh")
    return z.to(a.dtype)
