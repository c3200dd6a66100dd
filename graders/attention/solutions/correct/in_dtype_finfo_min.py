"""Correct: nanoGPT style, computed in the input dtype throughout, masked with finfo.min.

A masked score of finfo.min (not -inf) keeps a fully masked row finite: its
softmax is uniform, and multiplying by the mask zeroes it, gradients included.
"""

import torch
import torch.nn as nn


def attention(q, k, v, *, causal=False, attn_mask=None):
    Lq, Lk = q.size(-2), k.size(-2)
    att = torch.einsum("bhqd,bhkd->bhqk", q, k) * q.size(-1) ** -0.5  # (B, H, Lq, Lk), q's dtype
    keep = None
    if causal:
        keep = torch.ones(Lq, Lk, dtype=torch.bool, device=q.device).tril()
    if attn_mask is not None:
        keep = attn_mask if keep is None else keep & attn_mask
    if keep is not None:
        att = att.masked_fill(~keep, torch.finfo(att.dtype).min)
    att = att.softmax(dim=-1)
    if keep is not None:
        att = att * keep  # zero the masked weights; an all-masked row becomes all zeros
    return torch.einsum("bhqk,bhkd->bhqd", att, v)  # (B, H, Lq, Dv)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.n_head = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        B, T, E = x.shape
        # (B, T, 3E) -> (B, T, 3, H, D) -> (3, B, H, T, D)
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, E // self.n_head).permute(2, 0, 3, 1, 4)
        mask = None if key_padding_mask is None else ~key_padding_mask.view(B, 1, 1, T)
        y = attention(q, k, v, causal=causal, attn_mask=mask)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, E))
