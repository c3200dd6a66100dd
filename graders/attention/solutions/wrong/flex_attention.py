# WRONG(rejected): computes attention with torch's FlexAttention (torch.nn.attention.flex_attention), a fused attention the rules forbid
"""FlexAttention is torch's fused attention by another name: its import, its function and its higher-order op are forbidden."""

import torch
import torch.nn as nn
from torch.nn.attention.flex_attention import flex_attention


def attention(q, k, v, *, causal=False, attn_mask=None):
    Lq, Lk = q.size(-2), k.size(-2)
    allowed = torch.ones(Lq, Lk, dtype=torch.bool, device=q.device)
    if causal:
        allowed = allowed.tril()  # top-left aligned, as the contract says
    if attn_mask is not None:
        allowed = allowed & attn_mask
    allowed = allowed.expand(q.size(0), q.size(1), Lq, Lk)

    def score_mod(score, b, h, i, j):
        return torch.where(allowed[b, h, i, j], score, -float("inf"))

    y = flex_attention(q, k, v, score_mod=score_mod)
    return y.masked_fill(~allowed.any(dim=-1, keepdim=True), 0.0)  # rows with no key: 0, not NaN


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        B, T, E = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        y = attention(q, k, v, causal=causal, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(B, T, E))
