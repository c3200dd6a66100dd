"""flash_attention, known good: the forward walks the key tiles that need no mask first (wholly
below the diagonal and inside Lk) and the masked ones after, as Triton's fused-attention tutorial
does; 32-row query tiles. The backward is one launch: the first programs of the grid each own a
key tile (dK, dV), the rest a query tile (dQ). Inputs are made contiguous once, up front."""

import torch
import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def _step(acc, m, l, q, k_base, v_base, cols, rows, Lk, qk_scale, D: tl.constexpr,
          MASKED: tl.constexpr, CAUSAL: tl.constexpr, PREC: tl.constexpr):
    d = tl.arange(0, D)
    k = tl.load(k_base + cols[:, None] * D + d[None, :], mask=cols[:, None] < Lk, other=0.0)
    v = tl.load(v_base + cols[:, None] * D + d[None, :], mask=cols[:, None] < Lk, other=0.0)
    s = tl.dot(q, tl.trans(k), input_precision=PREC) * qk_scale
    if MASKED:
        keep = cols[None, :] < Lk
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None])
        s = tl.where(keep, s, float("-inf"))
    m_new = tl.maximum(m, tl.max(s, 1))
    p = tl.exp2(s - m_new[:, None])
    alpha = tl.exp2(m - m_new)
    l = l * alpha + tl.sum(p, 1)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PREC)
    return acc, m_new, l


@triton.jit
def forward_kernel(q_ptr, k_ptr, v_ptr, o_ptr, lse_ptr, Lq, Lk, qk_scale,
                   CAUSAL: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
                   PREC: tl.constexpr):
    bh = tl.program_id(1).to(tl.int64)
    m0 = tl.program_id(0) * BM
    rows = m0 + tl.arange(0, BM)
    d = tl.arange(0, D)
    q = tl.load(q_ptr + (bh * Lq + rows)[:, None] * D + d[None, :], mask=rows[:, None] < Lq, other=0.0)
    k_base = k_ptr + bh * Lk * D
    v_base = v_ptr + bh * Lk * D
    acc = tl.zeros([BM, D], tl.float32)
    m = tl.full([BM], float("-inf"), tl.float32)
    l = tl.zeros([BM], tl.float32)
    # Stage 1: whole tiles every row of this block may see (causal: keys < m0 + 1), no mask.
    free_end = (Lk // BN) * BN
    if CAUSAL:
        free_end = tl.minimum(free_end, ((m0 + 1) // BN) * BN)
    for n0 in range(0, free_end, BN):
        acc, m, l = _step(acc, m, l, q, k_base, v_base, n0 + tl.arange(0, BN), rows, Lk, qk_scale, D, False, CAUSAL, PREC)
    # Stage 2: the rest, masked (the diagonal, the last partial tile).
    end = Lk
    if CAUSAL:
        end = tl.minimum(Lk, m0 + BM)
    for n0 in range(free_end, end, BN):
        acc, m, l = _step(acc, m, l, q, k_base, v_base, n0 + tl.arange(0, BN), rows, Lk, qk_scale, D, True, CAUSAL, PREC)
    tl.store(o_ptr + (bh * Lq + rows)[:, None] * D + d[None, :], (acc / l[:, None]).to(o_ptr.dtype.element_ty),
             mask=rows[:, None] < Lq)
    tl.store(lse_ptr + bh * Lq + rows, tl.log(l) + m * 0.6931471805599453, mask=rows < Lq)


@triton.jit
def delta_kernel(o_ptr, do_ptr, delta_ptr, n_rows, D: tl.constexpr, BM: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)        # over all B * H * Lq rows at once
    d = tl.arange(0, D)
    o = tl.load(o_ptr + rows[:, None] * D + d[None, :], mask=rows[:, None] < n_rows, other=0.0)
    do = tl.load(do_ptr + rows[:, None] * D + d[None, :], mask=rows[:, None] < n_rows, other=0.0)
    tl.store(delta_ptr + rows, tl.sum(o.to(tl.float32) * do.to(tl.float32), 1), mask=rows < n_rows)


@triton.jit
def backward_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr, dk_ptr, dv_ptr,
                    Lq, Lk, n_key_tiles, scale,
                    CAUSAL: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
                    PREC: tl.constexpr):
    bh = tl.program_id(1).to(tl.int64)
    tile = tl.program_id(0)
    d = tl.arange(0, D)
    qk_scale = scale * 1.4426950408889634
    if tile < n_key_tiles:                                   # dK and dV of one key tile
        cols = tile * BN + tl.arange(0, BN)
        kmask = cols[:, None] < Lk
        k = tl.load(k_ptr + (bh * Lk + cols)[:, None] * D + d[None, :], mask=kmask, other=0.0)
        v = tl.load(v_ptr + (bh * Lk + cols)[:, None] * D + d[None, :], mask=kmask, other=0.0)
        dk = tl.zeros([BN, D], tl.float32)
        dv = tl.zeros([BN, D], tl.float32)
        first = 0
        if CAUSAL:
            first = (tile * BN // BM) * BM
        for m0 in range(first, Lq, BM):
            rows = m0 + tl.arange(0, BM)
            rmask = rows[:, None] < Lq
            q = tl.load(q_ptr + (bh * Lq + rows)[:, None] * D + d[None, :], mask=rmask, other=0.0)
            do = tl.load(do_ptr + (bh * Lq + rows)[:, None] * D + d[None, :], mask=rmask, other=0.0)
            lse2 = tl.load(lse_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0) * 1.4426950408889634
            delta = tl.load(delta_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0)
            keep = rmask & (cols[None, :] < Lk)
            if CAUSAL:
                keep = keep & (cols[None, :] <= rows[:, None])
            p = tl.where(keep, tl.exp2(tl.dot(q, tl.trans(k), input_precision=PREC) * qk_scale - lse2[:, None]), 0.0)
            dv += tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PREC)
            ds = p * (tl.dot(do, tl.trans(v), input_precision=PREC) - delta[:, None])
            dk += tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PREC)
        tl.store(dk_ptr + (bh * Lk + cols)[:, None] * D + d[None, :], (dk * scale).to(dk_ptr.dtype.element_ty),
                 mask=kmask)
        tl.store(dv_ptr + (bh * Lk + cols)[:, None] * D + d[None, :], dv.to(dv_ptr.dtype.element_ty), mask=kmask)
    else:                                                    # dQ of one query tile
        rows = (tile - n_key_tiles) * BM + tl.arange(0, BM)
        rmask = rows[:, None] < Lq
        q = tl.load(q_ptr + (bh * Lq + rows)[:, None] * D + d[None, :], mask=rmask, other=0.0)
        do = tl.load(do_ptr + (bh * Lq + rows)[:, None] * D + d[None, :], mask=rmask, other=0.0)
        lse2 = tl.load(lse_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0) * 1.4426950408889634
        delta = tl.load(delta_ptr + bh * Lq + rows, mask=rows < Lq, other=0.0)
        dq = tl.zeros([BM, D], tl.float32)
        end = Lk
        if CAUSAL:
            end = tl.minimum(Lk, (tile - n_key_tiles) * BM + BM)
        for n0 in range(0, end, BN):
            cols = n0 + tl.arange(0, BN)
            kmask = cols[:, None] < Lk
            k = tl.load(k_ptr + (bh * Lk + cols)[:, None] * D + d[None, :], mask=kmask, other=0.0)
            v = tl.load(v_ptr + (bh * Lk + cols)[:, None] * D + d[None, :], mask=kmask, other=0.0)
            keep = rmask & (cols[None, :] < Lk)
            if CAUSAL:
                keep = keep & (cols[None, :] <= rows[:, None])
            p = tl.where(keep, tl.exp2(tl.dot(q, tl.trans(k), input_precision=PREC) * qk_scale - lse2[:, None]), 0.0)
            ds = p * (tl.dot(do, tl.trans(v), input_precision=PREC) - delta[:, None])
            dq += tl.dot(ds.to(k.dtype), k, input_precision=PREC)
        tl.store(dq_ptr + (bh * Lq + rows)[:, None] * D + d[None, :], (dq * scale).to(dq_ptr.dtype.element_ty),
                 mask=rmask)


def _prec(q):
    return "ieee" if q.dtype == torch.float32 else "tf32"   # float32 inputs: no TF32 rounding


def _tiles(q):
    return (32, 64) if q.device.type == "cpu" else (64, 64)


def attention_forward(q, k, v, causal, scale):
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    o = torch.empty_like(q)
    lse = torch.empty((B, H, Lq), device=q.device, dtype=torch.float32)
    bm, bn = _tiles(q)
    forward_kernel[(triton.cdiv(Lq, bm), B * H)](q, k, v, o, lse, Lq, Lk, scale * LOG2E,
                                                 CAUSAL=causal, D=D, BM=bm, BN=bn, PREC=_prec(q))
    return o, lse


def attention_backward(q, k, v, o, lse, do, causal, scale):
    q, k, v, o, do, lse = (t.contiguous() for t in (q, k, v, o, do, lse))
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    bm, bn = _tiles(q)
    delta = torch.empty((B, H, Lq), device=q.device, dtype=torch.float32)
    delta_kernel[(triton.cdiv(B * H * Lq, 64),)](o, do, delta, B * H * Lq, D=D, BM=64)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    n_key_tiles = triton.cdiv(Lk, bn)
    backward_kernel[(n_key_tiles + triton.cdiv(Lq, bm), B * H)](q, k, v, do, lse, delta, dq, dk, dv,
                                                                Lq, Lk, n_key_tiles, scale,
                                                                CAUSAL=causal, D=D, BM=bm, BN=bn, PREC=_prec(q))
    return dq, dk, dv
