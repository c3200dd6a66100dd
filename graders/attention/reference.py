"""Reference solution of the attention exercise: plain PyTorch, nanoGPT-style, and on a GPU
FlashAttention in Triton where it applies.

It must pass like any correct submission. Low-precision inputs are upcast to
float32 for the scores and the softmax (a float16 score of 300 is off by 0.1,
which moves a softmax weight by 10%), and the result is cast back.

On a GPU, fp16/bf16 inputs without a mask and with a head dim of 16 to 128 go
through the FlashAttention kernels of kernels/flash_attention.py (forward and
backward; the block between the marker lines below is kept identical to that
file's, a test checks it): the attention bench's reference, the time every
candidate's "speed-up over the reference" is measured against, is then a fast
attention, not a (L, L) score matrix in memory. Everywhere else (the CPU, a
mask, float32) the plain code below runs.
"""

import math
import os

import torch
import torch.nn as nn
import triton
import triton.language as tl


def _allowed(Lq: int, Lk: int, causal: bool, attn_mask, device) -> torch.Tensor | None:
    """The bool mask of (query, key) pairs that may attend, or None for all of them."""
    allowed = None
    if causal:
        # top-left aligned: query i sees keys 0..i, whatever Lq and Lk are
        allowed = torch.ones(Lq, Lk, dtype=torch.bool, device=device).tril()  # (Lq, Lk)
    if attn_mask is not None:
        allowed = attn_mask if allowed is None else allowed & attn_mask  # broadcasts to (B, H, Lq, Lk)
    return allowed


def _flash_applies(q, k, v, attn_mask) -> bool:
    """The kernels' domain: a GPU, 16-bit inputs of one dtype, no mask, one head dim of 16..128."""
    return (q.is_cuda and attn_mask is None and q.dtype in (torch.float16, torch.bfloat16)
            and q.dtype == k.dtype == v.dtype and q.size(-1) == k.size(-1) == v.size(-1)
            and q.size(-1) in (16, 32, 64, 128) and q.dim() == 4 and q.size(-2) > 0 and k.size(-2) > 0)


class _FlashAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, causal, scale):
        o, lse = attention_forward(q, k, v, causal, scale)
        ctx.save_for_backward(q, k, v, o, lse)   # the log-sum-exp, not the (Lq, Lk) probabilities
        ctx.causal, ctx.scale = causal, scale
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        return (*attention_backward(q, k, v, o, lse, do, ctx.causal, ctx.scale), None, None)


def attention(q, k, v, *, causal=False, attn_mask=None):
    # q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv) -> (B, H, Lq, Dv)
    scale = 1.0 / math.sqrt(q.size(-1))
    if _flash_applies(q, k, v, attn_mask):
        return _FlashAttention.apply(q, k, v, bool(causal), scale)
    work = torch.float32 if q.dtype in (torch.float16, torch.bfloat16) else q.dtype
    qw, kw, vw = q.to(work), k.to(work), v.to(work)
    att = (qw @ kw.transpose(-2, -1)) * scale  # (B, H, Lq, D) @ (B, H, D, Lk) -> (B, H, Lq, Lk)
    allowed = _allowed(q.size(-2), k.size(-2), causal, attn_mask, q.device)
    if allowed is not None:
        att = att.masked_fill(~allowed, float("-inf"))
        has_key = allowed.any(dim=-1, keepdim=True)  # (..., Lq, 1): rows that see at least one key
        # a row of -inf would softmax to NaN (0/0); give it zeros, then zero its weights
        att = att.masked_fill(~has_key, 0.0)
    att = torch.softmax(att, dim=-1)  # over keys
    if allowed is not None:
        att = att.masked_fill(~has_key, 0.0)
    y = att @ vw  # (B, H, Lq, Lk) @ (B, H, Lk, Dv) -> (B, H, Lq, Dv)
    return y.to(q.dtype)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        assert embed_dim % num_heads == 0, "embed_dim must be a multiple of num_heads"
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        B, T, E = x.shape
        H = self.num_heads
        D = E // H
        q, k, v = self.qkv(x).split(E, dim=-1)  # (B, T, 3E) -> 3 x (B, T, E)
        # (B, T, E) -> (B, T, H, D) -> (B, H, T, D)
        q = q.view(B, T, H, D).transpose(1, 2)
        k = k.view(B, T, H, D).transpose(1, 2)
        v = v.view(B, T, H, D).transpose(1, 2)
        mask = None
        if key_padding_mask is not None:
            mask = ~key_padding_mask[:, None, None, :]  # (B, T) padding -> (B, 1, 1, T) may attend
        y = attention(q, k, v, causal=causal, attn_mask=mask)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, E)  # re-assemble the heads side by side
        return self.proj(y)


# --- kernels and launchers: kept identical to kernels/flash_attention.py ---

LOG2E = 1.4426950408889634


@triton.jit
def attention_fwd_kernel(
    q_ptr, k_ptr, v_ptr, o_ptr, lse_ptr,        # q, o: (B, H, Lq, D); k, v: (B, H, Lk, D); lse: (B*H, Lq) fp32, ln
    sq_b, sq_h, sq_l, sk_b, sk_h, sk_l, sv_b, sv_h, sv_l, so_b, so_h, so_l,
    H, Lq, Lk, qk_scale,                        # qk_scale = softmax scale * log2(e)
    CAUSAL: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    PRECISION: tl.constexpr,                    # "ieee" for fp32 inputs: TF32 would cost them 10 bits
):
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    b, h = bh // H, bh % H
    offs_m = start_m + tl.arange(0, BLOCK_M)                                   # (BLOCK_M,)
    offs_n = tl.arange(0, BLOCK_N)                                             # (BLOCK_N,)
    offs_d = tl.arange(0, HEAD_DIM)                                            # (D,)
    q_base = q_ptr + b.to(tl.int64) * sq_b + h.to(tl.int64) * sq_h
    k_base = k_ptr + b.to(tl.int64) * sk_b + h.to(tl.int64) * sk_h
    v_base = v_ptr + b.to(tl.int64) * sv_b + h.to(tl.int64) * sv_h

    q = tl.load(q_base + offs_m[:, None] * sq_l + offs_d[None, :], mask=offs_m[:, None] < Lq, other=0.0)
    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)                       # running max (log2 units)
    l_i = tl.zeros([BLOCK_M], tl.float32)                                      # running sum of exp2
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)                            # unnormalised output

    hi = Lk
    if CAUSAL:
        hi = tl.minimum(Lk, start_m + BLOCK_M)   # keys past the block's last query are all masked
    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + offs_n
        k = tl.load(k_base + cols[:, None] * sk_l + offs_d[None, :], mask=cols[:, None] < Lk, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * qk_scale                                  # (BLOCK_M, D) @ (D, BLOCK_N)
        keep = cols[None, :] < Lk
        if CAUSAL:
            keep = keep & (cols[None, :] <= offs_m[:, None])
        s = tl.where(keep, s, -float("inf"))
        # Every row sees key 0 in the first block, so m_new is finite from then on.
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        p = tl.exp2(s - m_new[:, None])                                        # (BLOCK_M, BLOCK_N)
        alpha = tl.exp2(m_i - m_new)                                           # rescales the old sum
        l_i = l_i * alpha + tl.sum(p, axis=1)
        v = tl.load(v_base + cols[:, None] * sv_l + offs_d[None, :], mask=cols[:, None] < Lk, other=0.0)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)                  # (BLOCK_M, BLOCK_N) @ (BLOCK_N, D)
        m_i = m_new

    out = acc / l_i[:, None]
    o_base = o_ptr + b.to(tl.int64) * so_b + h.to(tl.int64) * so_h
    tl.store(o_base + offs_m[:, None] * so_l + offs_d[None, :], out.to(o_ptr.dtype.element_ty),
             mask=offs_m[:, None] < Lq)
    # log-sum-exp of the row's scores, from log2 units back to natural log (the contract's)
    tl.store(lse_ptr + bh.to(tl.int64) * Lq + offs_m, (m_i + tl.log2(l_i)) * 0.6931471805599453,
             mask=offs_m < Lq)


@triton.jit
def attention_bwd_delta_kernel(o_ptr, do_ptr, delta_ptr, Lq, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr):
    """delta = rowsum(dO * O), per query row: o and do are (B*H, Lq, D) contiguous."""
    bh = tl.program_id(1)
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    rows = bh.to(tl.int64) * Lq + offs_m
    mask = offs_m[:, None] < Lq
    o = tl.load(o_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :], mask=mask, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :], mask=mask, other=0.0).to(tl.float32)
    tl.store(delta_ptr + rows, tl.sum(o * do, axis=1), mask=offs_m < Lq)


@triton.jit
def attention_bwd_dkdv_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,   # all (B*H, L, D) contiguous
    Lq, Lk, qk_scale, sm_scale,
    CAUSAL: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    PRECISION: tl.constexpr,                    # "ieee" for fp32 inputs: TF32 would cost them 10 bits
):
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1).to(tl.int64)
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_m = tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    kv_mask = offs_n[:, None] < Lk
    k = tl.load(k_ptr + (bh * Lk + offs_n)[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
    v = tl.load(v_ptr + (bh * Lk + offs_n)[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
    dk = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)

    lo = 0
    if CAUSAL:
        lo = (start_n // BLOCK_M) * BLOCK_M      # queries before the block's first key never see it
    for start_m in range(lo, Lq, BLOCK_M):
        rows = start_m + offs_m
        q_mask = rows[:, None] < Lq
        q = tl.load(q_ptr + (bh * Lq + rows)[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
        do = tl.load(do_ptr + (bh * Lq + rows)[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
        lse = tl.load(lse_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0) * 1.4426950408889634  # ln -> log2
        delta = tl.load(delta_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * qk_scale                                  # (BLOCK_M, BLOCK_N)
        keep = (rows[:, None] < Lq) & (offs_n[None, :] < Lk)
        if CAUSAL:
            keep = keep & (offs_n[None, :] <= rows[:, None])
        p = tl.where(keep, tl.exp2(s - lse[:, None]), 0.0)                     # the forward's probabilities
        dv += tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PRECISION)                             # (BLOCK_N, BLOCK_M) @ (BLOCK_M, D)
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)                                           # (BLOCK_M, D) @ (D, BLOCK_N)
        ds = p * (dp - delta[:, None])
        dk += tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PRECISION)                              # (BLOCK_N, BLOCK_M) @ (BLOCK_M, D)
    out = (bh * Lk + offs_n)[:, None] * HEAD_DIM + offs_d[None, :]
    tl.store(dk_ptr + out, (dk * sm_scale).to(dk_ptr.dtype.element_ty), mask=kv_mask)
    tl.store(dv_ptr + out, dv.to(dv_ptr.dtype.element_ty), mask=kv_mask)


@triton.jit
def attention_bwd_dq_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,            # all (B*H, L, D) contiguous
    Lq, Lk, qk_scale, sm_scale,
    CAUSAL: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    PRECISION: tl.constexpr,                    # "ieee" for fp32 inputs: TF32 would cost them 10 bits
):
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1).to(tl.int64)
    rows = start_m + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    q_mask = rows[:, None] < Lq
    q = tl.load(q_ptr + (bh * Lq + rows)[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
    do = tl.load(do_ptr + (bh * Lq + rows)[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
    lse = tl.load(lse_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0) * 1.4426950408889634  # ln -> log2
    delta = tl.load(delta_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0)
    dq = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)

    hi = Lk
    if CAUSAL:
        hi = tl.minimum(Lk, start_m + BLOCK_M)
    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + offs_n
        kv_mask = cols[:, None] < Lk
        k = tl.load(k_ptr + (bh * Lk + cols)[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
        v = tl.load(v_ptr + (bh * Lk + cols)[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * qk_scale
        keep = (rows[:, None] < Lq) & (cols[None, :] < Lk)
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None])
        p = tl.where(keep, tl.exp2(s - lse[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION)                                        # (BLOCK_M, BLOCK_N) @ (BLOCK_N, D)
    tl.store(dq_ptr + (bh * Lq + rows)[:, None] * HEAD_DIM + offs_d[None, :],
             (dq * sm_scale).to(dq_ptr.dtype.element_ty), mask=q_mask)


def _blocks(head_dim: int) -> tuple[int, int, int, int]:
    """(BLOCK_M, BLOCK_N, num_warps, num_stages): FlashAttention-2's usual tiles on Hopper. The
    interpreter (CPU) runs one program and one loop step at a time, a few ms each whatever the
    tile: 64 x 64 keeps the steps few."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        return 64, 64, 1, 1
    if head_dim <= 64:
        return 128, 64, 4, 3
    return 128, 32, 8, 2


def _precision(q: torch.Tensor) -> str:
    return "ieee" if q.dtype == torch.float32 else "tf32"   # tf32 is ignored for 16-bit inputs


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    if q.ndim != 4 or k.shape != v.shape or k.ndim != 4 or q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ValueError(f"expected q (B, H, Lq, D), k and v (B, H, Lk, D); got {tuple(q.shape)}, "
                         f"{tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[3] not in (16, 32, 64, 128):
        raise ValueError(f"head dim {q.shape[3]} is not supported (16, 32, 64 or 128)")
    if not (q.dtype == k.dtype == v.dtype) or q.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"q, k, v must share one of float32, float16, bfloat16; got {q.dtype}, {k.dtype}, {v.dtype}")


def attention_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float):
    """o = softmax(scale * q k^T, causal top-left) v and lse = log sum_j exp(scale * q k_j), the
    natural-log log-sum-exp of each row's allowed scores: ((B, H, Lq, D) in q's dtype, (B, H, Lq) fp32)."""
    _check_qkv(q, k, v)
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    # The kernel takes any strides but the last: a transposed (B, L, H, D) layout is read in place.
    q, k, v = (t if t.stride(3) == 1 else t.contiguous() for t in (q, k, v))
    o = torch.empty((B, H, Lq, D), device=q.device, dtype=q.dtype)
    lse = torch.empty((B, H, Lq), device=q.device, dtype=torch.float32)
    block_m, block_n, warps, stages = _blocks(D)
    grid = (triton.cdiv(Lq, block_m), B * H)
    attention_fwd_kernel[grid](
        q, k, v, o, lse,
        q.stride(0), q.stride(1), q.stride(2), k.stride(0), k.stride(1), k.stride(2),
        v.stride(0), v.stride(1), v.stride(2), o.stride(0), o.stride(1), o.stride(2),
        H, Lq, Lk, float(scale) * LOG2E,
        CAUSAL=bool(causal), HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n, PRECISION=_precision(q),
        num_warps=warps, num_stages=stages,
    )
    return o, lse


def attention_backward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor,
                       do: torch.Tensor, causal: bool, scale: float):
    """(dq, dk, dv) of the forward above, given its o and lse and the output's gradient do (B, H, Lq, D):
    the probabilities are recomputed from lse, block by block, never stored."""
    _check_qkv(q, k, v)
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    if o.shape != q.shape or do.shape != q.shape or tuple(lse.shape) != (B, H, Lq) or lse.dtype != torch.float32:
        raise ValueError(f"expected o and do of q's shape {tuple(q.shape)} and lse (B, H, Lq) float32; got "
                         f"{tuple(o.shape)}, {tuple(do.shape)}, {tuple(lse.shape)} {lse.dtype}")
    # The backward kernels take (B*H, L, D) contiguous tensors: one copy where needed.
    q, k, v, o, do, lse = (t.contiguous() for t in (q, k, v, o, do, lse))
    block_m, block_n, warps, stages = _blocks(D)
    delta = torch.empty((B, H, Lq), device=q.device, dtype=torch.float32)
    attention_bwd_delta_kernel[(triton.cdiv(Lq, block_m), B * H)](o, do, delta, Lq, HEAD_DIM=D, BLOCK_M=block_m)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    common = dict(CAUSAL=bool(causal), HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n, PRECISION=_precision(q),
                  num_warps=warps, num_stages=stages)
    attention_bwd_dkdv_kernel[(triton.cdiv(Lk, block_n), B * H)](
        q, k, v, do, lse, delta, dk, dv, Lq, Lk, float(scale) * LOG2E, float(scale), **common)
    attention_bwd_dq_kernel[(triton.cdiv(Lq, block_m), B * H)](
        q, k, v, do, lse, delta, dq, Lq, Lk, float(scale) * LOG2E, float(scale), **common)
    return dq, dk, dv


# --- end of the part shared with kernels/flash_attention.py ---
