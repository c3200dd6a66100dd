"""FlashAttention in Triton: forward and backward, causal or not, fp16/bf16 (fp32 too).

Why a kernel: attention written as ops materialises the (L, L) score matrix per
head, reads and writes it several times (scores, softmax, dropout-free product)
and keeps it for backward: O(L^2) memory traffic where the inputs are O(L D).
FlashAttention (Dao et al., 2022; FlashAttention-2, Dao 2023) never writes the
scores: a program owns BLOCK_M query rows, walks the keys BLOCK_N at a time
with an online softmax (a running max m and sum l per row), and keeps the
output accumulator on chip. Forward moves Q, K, V in and O out; its flops are

    4 * B * H * Lq * Lk * D      (two matmuls; about half of it when causal)

and at D = 64..128 that is compute-bound: the speed of light is the tensor
cores' matmul rate, the figure of merit TFLOP/s against
F.scaled_dot_product_attention (cuDNN / FlashAttention-2 kernels).

Backward recomputes the probabilities from the saved log-sum-exp instead of
storing them (FlashAttention-2's algorithm 2):
    P = exp(S - lse),  dV = P^T dO,  dP = dO V^T,  dS = P * (dP - delta),
    dQ = scale * dS K,  dK = scale * dS^T Q,   delta = rowsum(dO * O).
One program per key block accumulates dK and dV over the query blocks; a
second kernel, one program per query block, accumulates dQ over the key
blocks, so no atomics are needed (an extra read of K and V instead).

Causal is top-left aligned, as in F.scaled_dot_product_attention: query i
sees keys 0..i. Exponentials are taken in base 2 (exp2 with log2(e) folded into
the scale): one multiply fewer per score. The saved log-sum-exp is handed out
in natural log (what the flash_attention exercise's contract and torch's own
flash kernels return); the kernels convert it on store and on load.

Entry points, shared verbatim with graders/flash_attention/reference.py:
    attention_forward(q, k, v, causal, scale) -> (o, lse)          lse: (B, H, Lq) float32
    attention_backward(q, k, v, o, lse, do, causal, scale) -> (dq, dk, dv)
and `attention(q, k, v, causal, scale)`, differentiable, built on them.

    python kernels/flash_attention.py   # check against SDPA in float64; TFLOP/s table on a GPU
(without a GPU the check runs under the Triton interpreter at small sizes,
which this file switches on before triton is imported.)
"""

from __future__ import annotations

import math
import os

import torch

if not torch.cuda.is_available():  # must happen before @triton.jit runs
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

# --- kernels and launchers: kept identical in graders/flash_attention/reference.py ---

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


# --- end of the part shared with graders/flash_attention/reference.py ---


class FlashAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, causal: bool, scale: float):
        o, lse = attention_forward(q, k, v, causal, scale)
        ctx.save_for_backward(q, k, v, o, lse)   # lse, not the (Lq, Lk) probabilities
        ctx.causal, ctx.scale = causal, scale
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        return (*attention_backward(q, k, v, o, lse, do, ctx.causal, ctx.scale), None, None)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
              scale: float | None = None) -> torch.Tensor:
    """softmax(q k^T * scale [+ causal mask]) v for (B, H, L, D) tensors; differentiable.
    D must be a power of two from 16 to 128 (the tile's width)."""
    _check_qkv(q, k, v)
    return FlashAttention.apply(q, k, v, causal, 1.0 / math.sqrt(q.shape[3]) if scale is None else scale)


# --- checks and benchmark ---

TOLERANCE = {torch.float32: 2e-4, torch.float16: 2e-2, torch.bfloat16: 4e-2}   # max abs error, unit-scale inputs


def check(shapes=((1, 2, 150, 16), (2, 1, 64, 32), (1, 1, 1, 16)), dtypes=(torch.float32, torch.float16),
          device: str | None = None) -> None:
    """Forward, log-sum-exp and gradients against float64 SDPA on odd lengths (150: three 64-row tiles,
    the last one short), causal and not."""
    import torch.nn.functional as F

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    gen = torch.Generator().manual_seed(0)
    for dtype in dtypes:
        for B, H, L, D in shapes:
            for causal in (False, True):
                q, k, v, do = (torch.randn(B, H, L, D, generator=gen, dtype=torch.float64) for _ in range(4))
                ours = [t.to(device, dtype).requires_grad_() for t in (q, k, v)]
                out = attention(*ours, causal=causal)
                out.backward(do.to(device, dtype))
                _, lse = attention_forward(*(t.detach() for t in ours), causal, D ** -0.5)
                ref = [t.clone().requires_grad_() for t in (q, k, v)]
                want = F.scaled_dot_product_attention(*ref, is_causal=causal)
                want.backward(do)
                scores = (q @ k.transpose(-1, -2)) * D ** -0.5                      # (B, H, L, L)
                if causal:
                    scores = scores.masked_fill(torch.ones(L, L, dtype=torch.bool).triu(1), -math.inf)
                errors = [(out.double().cpu() - want).abs().max().item()] + \
                         [(a.grad.double().cpu() - b.grad).abs().max().item() for a, b in zip(ours, ref)] + \
                         [(lse.double().cpu() - scores.logsumexp(-1)).abs().max().item()]
                ok = max(errors) <= TOLERANCE[dtype]
                print(f"check {str(dtype):14} {B}x{H}x{L}x{D} causal={causal!s:5} max abs error "
                      f"o {errors[0]:.1e} dq {errors[1]:.1e} dk {errors[2]:.1e} dv {errors[3]:.1e} "
                      f"lse {errors[4]:.1e}  {'ok' if ok else 'FAIL'}")
                if not ok:
                    raise AssertionError(f"attention {dtype} {(B, H, L, D)} causal={causal}: errors {errors}")


TARGET = 0.8  # of F.scaled_dot_product_attention's speed (issue 19)


def benchmark(B: int = 8, H: int = 16, lengths=(1024, 2048, 4096, 8192), dims=(64, 128),
              dtype=torch.bfloat16) -> None:
    """TFLOP/s of forward and forward+backward beside F.scaled_dot_product_attention, on a GPU."""
    if not torch.cuda.is_available():
        print("benchmark: no CUDA device, skipped (interpreter timings mean nothing)")
        return
    import torch.nn.functional as F
    from triton.testing import do_bench

    print(f"{'L':>6} {'D':>4} {'causal':>6} {'fwd TF/s':>9} {'sdpa':>7} {'fwd+bwd':>8} {'sdpa':>7} {'of sdpa':>8}")
    for D in dims:
        for L in lengths:
            for causal in (False, True):
                q, k, v = (torch.randn(B, H, L, D, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
                do = torch.randn_like(q)
                flops = 4 * B * H * L * L * D * (0.5 if causal else 1.0)

                def tflops(ms: float, mult: float) -> float:
                    return flops * mult / ms * 1e-9

                fwd = do_bench(lambda: attention(q, k, v, causal=causal))
                ref = do_bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
                both = do_bench(lambda: attention(q, k, v, causal=causal).backward(do))
                ref_both = do_bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal).backward(do))
                # backward is 2.5x the forward's flops (5 matmuls to 2)
                print(f"{L:>6} {D:>4} {causal!s:>6} {tflops(fwd, 1):>9.1f} {tflops(ref, 1):>7.1f} "
                      f"{tflops(both, 3.5):>8.1f} {tflops(ref_both, 3.5):>7.1f} {ref_both / both:>8.2f}")


def sweep_warps(B: int = 8, H: int = 16, L: int = 2048, dtype=torch.bfloat16) -> None:
    """Head dim 64 at 4 warps (the launch today) and at 8, TFLOP/s, on a GPU. Compiled for sm_90
    (benchmarks/kernel_resources.py), 4 warps put the forward and dQ kernels at the 255-register
    ceiling, dQ spilling 32 bytes; 8 warps take 116, 164 and 128 registers, no spill. Which is
    faster is the GPU's to say."""
    if not torch.cuda.is_available():
        print("sweep: no CUDA device, skipped")
        return
    global _blocks
    from triton.testing import do_bench

    today = _blocks
    print(f"head dim 64, ({B}, {H}, {L}, 64) {dtype}: TFLOP/s by warps (4 is today's launch)")
    try:
        for warps in (4, 8):
            _blocks = lambda head_dim, w=warps: (128, 64, w, 3) if head_dim <= 64 else today(head_dim)  # noqa: E731
            for causal in (False, True):
                q, k, v = (torch.randn(B, H, L, 64, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
                do = torch.randn_like(q)
                flops = 4 * B * H * L * L * 64 * (0.5 if causal else 1.0)
                fwd = do_bench(lambda: attention(q, k, v, causal=causal))
                both = do_bench(lambda: attention(q, k, v, causal=causal).backward(do))
                print(f"  warps {warps} causal {causal!s:5}: forward {flops / fwd * 1e-9:7.1f}, "
                      f"forward+backward {3.5 * flops / both * 1e-9:7.1f}")
    finally:
        _blocks = today


if __name__ == "__main__":
    check()
    benchmark()
    sweep_warps()
