# WRONG(failed): MultiHeadSelfAttention splits heads as (B, H, T, D) straight from the (B, T, E) projections
"""attention() is right; the module views (B, T, E) as (B, H, T, D), mixing time steps and heads."""

import math

import torch
import torch.nn as nn


def _allowed(Lq: int, Lk: int, causal: bool, attn_mask, device) -> torch.Tensor | None:
    """The bool mask of (query, key) pairs that may attend, or None for all of them."""
    allowed = None
    if causal:
        # top-left aligned: query i sees keys 0..i, whatever Lq and Lk are
        allowed = torch.ones(Lq, Lk, dtype=torch.bool, device=device).tril()  # (Lq, Lk)
    if attn_mask is not None:
        allowed = attn_mask if allowed is None else allowed & attn_mask  # broadcasts to (B, H, Lq, Lk)
    return allowed


def attention(q, k, v, *, causal=False, attn_mask=None):
    # q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv) -> (B, H, Lq, Dv)
    scale = 1.0 / math.sqrt(q.size(-1))
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
        # wrong: the last dim is (H, D) per time step, not (T, D) per head
        q = q.reshape(B, H, T, D)
        k = k.reshape(B, H, T, D)
        v = v.reshape(B, H, T, D)
        mask = None
        if key_padding_mask is not None:
            mask = ~key_padding_mask[:, None, None, :]  # (B, T) padding -> (B, 1, 1, T) may attend
        y = attention(q, k, v, causal=causal, attn_mask=mask)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, E)  # re-assemble the heads side by side
        return self.proj(y)
