"""flash_attention, known good: natural-log exponentials, strided loads everywhere, and one backward
kernel per key tile that adds its share of dQ with float32 atomics (FlashAttention-2's first
backward, before the dQ pass was split off). delta = rowsum(dO * O) is recomputed by each program
from the tiles it loads instead of in a pass of its own."""

import torch
import triton
import triton.language as tl


@triton.jit
def fwd_kernel(q_ptr, k_ptr, v_ptr, o_ptr, lse_ptr,
               sqb, sqh, sql, skb, skh, skl, svb, svh, svl, sob, soh, sol,
               H, Lq, Lk, scale,
               CAUSAL: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, PREC: tl.constexpr):
    bh = tl.program_id(0)                      # grid (B * H, query tiles): the head first this time
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    rows = tl.program_id(1) * BM + tl.arange(0, BM)
    d = tl.arange(0, D)
    q = tl.load(q_ptr + b * sqb + h * sqh + rows[:, None] * sql + d[None, :], mask=rows[:, None] < Lq, other=0.0)
    run_max = tl.full([BM], float("-inf"), tl.float32)
    run_sum = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, D], tl.float32)
    end = Lk
    if CAUSAL:
        end = tl.minimum(Lk, tl.program_id(1) * BM + BM)
    for n0 in range(0, end, BN):
        cols = n0 + tl.arange(0, BN)
        kt = tl.load(k_ptr + b * skb + h * skh + cols[None, :] * skl + d[:, None],
                     mask=cols[None, :] < Lk, other=0.0)                      # (D, BN): k loaded transposed
        s = tl.dot(q, kt, input_precision=PREC) * scale                        # (BM, D) @ (D, BN)
        ok = cols[None, :] < Lk
        if CAUSAL:
            ok = ok & (cols[None, :] <= rows[:, None])
        s = tl.where(ok, s, float("-inf"))
        new_max = tl.maximum(run_max, tl.max(s, 1))
        p = tl.exp(s - new_max[:, None])
        shrink = tl.exp(run_max - new_max)
        run_sum = run_sum * shrink + tl.sum(p, 1)
        vt = tl.load(v_ptr + b * svb + h * svh + cols[:, None] * svl + d[None, :], mask=cols[:, None] < Lk, other=0.0)
        acc = acc * shrink[:, None] + tl.dot(p.to(vt.dtype), vt, input_precision=PREC)
        run_max = new_max
    tl.store(o_ptr + b * sob + h * soh + rows[:, None] * sol + d[None, :],
             (acc / run_sum[:, None]).to(o_ptr.dtype.element_ty), mask=rows[:, None] < Lq)
    tl.store(lse_ptr + bh.to(tl.int64) * Lq + rows, run_max + tl.log(run_sum), mask=rows < Lq)


@triton.jit
def bwd_kernel(q_ptr, k_ptr, v_ptr, o_ptr, do_ptr, lse_ptr, dq_ptr, dk_ptr, dv_ptr,
               s_q, s_k, s_v, s_o, s_do, s_dk, s_dv,      # (batch, head, row) strides of each
               H, Lq, Lk, scale,
               CAUSAL: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, PREC: tl.constexpr):
    bh = tl.program_id(0)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    cols = tl.program_id(1) * BN + tl.arange(0, BN)
    d = tl.arange(0, D)
    kmask = cols[:, None] < Lk
    k = tl.load(k_ptr + b * s_k[0] + h * s_k[1] + cols[:, None] * s_k[2] + d[None, :], mask=kmask, other=0.0)
    v = tl.load(v_ptr + b * s_v[0] + h * s_v[1] + cols[:, None] * s_v[2] + d[None, :], mask=kmask, other=0.0)
    dk = tl.zeros([BN, D], tl.float32)
    dv = tl.zeros([BN, D], tl.float32)
    start = 0
    if CAUSAL:
        start = (tl.program_id(1) * BN // BM) * BM      # earlier queries never see these keys
    for m0 in range(start, Lq, BM):
        rows = m0 + tl.arange(0, BM)
        rmask = rows[:, None] < Lq
        q = tl.load(q_ptr + b * s_q[0] + h * s_q[1] + rows[:, None] * s_q[2] + d[None, :], mask=rmask, other=0.0)
        do = tl.load(do_ptr + b * s_do[0] + h * s_do[1] + rows[:, None] * s_do[2] + d[None, :], mask=rmask, other=0.0)
        o = tl.load(o_ptr + b * s_o[0] + h * s_o[1] + rows[:, None] * s_o[2] + d[None, :], mask=rmask, other=0.0)
        delta = tl.sum(do.to(tl.float32) * o.to(tl.float32), 1)                 # rowsum(dO * O), (BM,)
        lse = tl.load(lse_ptr + bh.to(tl.int64) * Lq + rows, mask=rows < Lq, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PREC) * scale
        ok = (rows[:, None] < Lq) & (cols[None, :] < Lk)
        if CAUSAL:
            ok = ok & (cols[None, :] <= rows[:, None])
        p = tl.where(ok, tl.exp(s - lse[:, None]), 0.0)                         # (BM, BN)
        dv += tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PREC)
        ds = p * (tl.dot(do, tl.trans(v), input_precision=PREC) - delta[:, None])
        dk += tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PREC)
        dq_part = tl.dot(ds.to(k.dtype), k, input_precision=PREC) * scale       # (BM, D): this key tile's share
        tl.atomic_add(dq_ptr + (bh.to(tl.int64) * Lq + rows[:, None]) * D + d[None, :], dq_part, mask=rmask)
    tl.store(dk_ptr + b * s_dk[0] + h * s_dk[1] + cols[:, None] * s_dk[2] + d[None, :],
             (dk * scale).to(dk_ptr.dtype.element_ty), mask=kmask)
    tl.store(dv_ptr + b * s_dv[0] + h * s_dv[1] + cols[:, None] * s_dv[2] + d[None, :],
             dv.to(dv_ptr.dtype.element_ty), mask=kmask)


def _tiles(q):
    # The interpreter (CPU) pays per tile step, not per element: large tiles there.
    if q.device.type == "cpu":
        return 64, 64
    return (64, 64) if q.shape[-1] <= 64 else (64, 32)


def _prec(q):
    return "ieee" if q.dtype == torch.float32 else "tf32"


def _bhl(t):
    return t.stride(0), t.stride(1), t.stride(2)


def _unit_last(*ts):
    return [t if t.stride(3) == 1 else t.contiguous() for t in ts]


def attention_forward(q, k, v, causal, scale):
    q, k, v = _unit_last(q, k, v)
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    o = torch.empty_like(q)
    lse = torch.empty((B, H, Lq), device=q.device, dtype=torch.float32)
    bm, bn = _tiles(q)
    fwd_kernel[(B * H, triton.cdiv(Lq, bm))](q, k, v, o, lse, *_bhl(q), *_bhl(k), *_bhl(v), *_bhl(o),
                                             H, Lq, Lk, scale, CAUSAL=causal, D=D, BM=bm, BN=bn, PREC=_prec(q))
    return o, lse


def attention_backward(q, k, v, o, lse, do, causal, scale):
    q, k, v, o, do = _unit_last(q, k, v, o, do)
    lse = lse.contiguous()
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    dq32 = torch.zeros((B, H, Lq, D), device=q.device, dtype=torch.float32)   # the atomics' target
    dk, dv = torch.empty_like(k), torch.empty_like(v)
    bm, bn = _tiles(q)
    bwd_kernel[(B * H, triton.cdiv(Lk, bn))](q, k, v, o, do, lse, dq32, dk, dv,
                                             _bhl(q), _bhl(k), _bhl(v), _bhl(o), _bhl(do), _bhl(dk), _bhl(dv),
                                             H, Lq, Lk, scale, CAUSAL=causal, D=D, BM=bm, BN=bn, PREC=_prec(q))
    return dq32.to(q.dtype), dk, dv
