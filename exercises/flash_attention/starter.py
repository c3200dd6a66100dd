"""flash_attention: attention forward and backward as Triton kernels, FlashAttention style.

See README.md for the exact contract. Replace the NotImplementedErrors and fill
in the kernels; the comments sketch one way (FlashAttention-2: a program per
tile of queries, an online softmax over tiles of keys).
"""

import torch
import triton
import triton.language as tl


@triton.jit
def attention_fwd_kernel(
    q_ptr, k_ptr, v_ptr, o_ptr, lse_ptr,   # q, o: (B, H, Lq, D); k, v: (B, H, Lk, D); lse: (B, H, Lq) float32
    # strides, Lq, Lk, scale, ...
    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    # 1. load a (BLOCK_M, HEAD_DIM) tile of q (mask the rows past Lq)
    # 2. for each (BLOCK_N, HEAD_DIM) tile of k and v: the scores s = scale * q k^T (tl.dot),
    #    masked (keys past Lk; causal: key j > query i), a running row max m and sum l,
    #    the output accumulator rescaled by exp(m_old - m_new) before adding p @ v
    # 3. store o = acc / l in o's dtype, and lse = m + log(l) (natural log, float32)
    pass


def attention_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float):
    """(o, lse): o (B, H, Lq, D) in q's dtype, lse (B, H, Lq) float32."""
    raise NotImplementedError("attention_forward: write the kernel and launch it")


def attention_backward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor,
                       do: torch.Tensor, causal: bool, scale: float):
    """(dq, dk, dv), each of its input's shape and dtype, from the probabilities recomputed with lse:
    p = exp(scale * q k^T - lse), dv = p^T do, dp = do v^T, ds = p * (dp - rowsum(do * o)),
    dq = scale * ds k, dk = scale * ds^T q."""
    raise NotImplementedError("attention_backward: write the kernels and launch them")
