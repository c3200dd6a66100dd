# HOSTILE(attention, crashed|failed): returns an output far beyond the cap on what a run may send back (the test lowers the cap)
"""The host stops reading at the exercise's output cap and ends the run."""
import torch
import torch.nn as nn


def attention(q, k, v, *, causal=False, attn_mask=None):
    return torch.zeros(8_000_000, dtype=torch.float32)  # 32 MB


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        return torch.zeros(8_000_000, dtype=torch.float32)
