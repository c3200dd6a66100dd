"""Correct: flash-attention's online softmax over blocks of keys, float32 accumulators.

Keeps a running max m, running sum l and running output acc per query row and
rescales them as each block of keys arrives; autograd differentiates the loop.
"""

import math

import torch
import torch.nn as nn

BLOCK = 8


def attention(q, k, v, *, causal=False, attn_mask=None):
    B, H, Lq, D = q.shape
    Lk, Dv = k.size(-2), v.size(-1)
    qf, kf, vf = q.float() / math.sqrt(D), k.float(), v.float()
    rows = torch.arange(Lq, device=q.device)[:, None]
    m = torch.full((B, H, Lq, 1), float("-inf"), device=q.device)
    l = torch.zeros(B, H, Lq, 1, device=q.device)
    acc = torch.zeros(B, H, Lq, Dv, device=q.device)
    for start in range(0, Lk, BLOCK):
        cols = torch.arange(start, min(start + BLOCK, Lk), device=q.device)[None, :]
        s = qf @ kf[..., start:start + BLOCK, :].transpose(-2, -1)  # (B, H, Lq, blk)
        ok = torch.ones_like(s, dtype=torch.bool)
        if causal:
            ok = ok & (cols <= rows)
        if attn_mask is not None:
            ok = ok & attn_mask.expand(B, H, Lq, Lk)[..., start:start + BLOCK]
        s = torch.where(ok, s, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True)).detach()
        m_safe = torch.where(torch.isinf(m_new), 0.0, m_new)  # nothing seen yet: avoid -inf - -inf
        alpha = torch.exp(m - m_safe)  # rescales what was summed under the old max
        p = torch.exp(s - m_safe)
        l = l * alpha + p.sum(dim=-1, keepdim=True)
        acc = acc * alpha + p @ vf[..., start:start + BLOCK, :]
        m = m_new
    out = acc / torch.where(l > 0, l, 1.0)  # rows that saw no key: 0 / 1
    return out.to(q.dtype)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.heads = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        # (B, T, E) -> (B, T, H, D) -> (B, H, T, D)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))
        mask = None
        if key_padding_mask is not None:
            mask = key_padding_mask.logical_not()[:, None, None, :]
        y = attention(q, k, v, causal=causal, attn_mask=mask)
        return self.proj(y.transpose(1, 2).flatten(2))
