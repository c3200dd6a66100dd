"""attention: scaled dot-product attention and multi-head self-attention, from scratch.

PyTorch only, without torch's fused attention. See README.md for the exact contract.
"""

import torch
import torch.nn as nn


def attention(q, k, v, *, causal=False, attn_mask=None):
    """softmax(q @ k^T / sqrt(D), over allowed keys) @ v.

    q: (B, H, Lq, D), k: (B, H, Lk, D), v: (B, H, Lk, Dv), all one dtype
       (float32, float16 or bfloat16)
    causal: query i may attend key j only when j <= i (top-left aligned)
    attn_mask: None, or a bool tensor broadcastable to (B, H, Lq, Lk), True = may attend
    returns (B, H, Lq, Dv) in q's dtype; a row that may attend no key is all zeros
    """
    raise NotImplementedError("attention")


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)  # output is [q | k | v]
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        """x: (B, T, E); key_padding_mask: None or (B, T) bool, True = padding. Returns (B, T, E)."""
        raise NotImplementedError("MultiHeadSelfAttention.forward")
