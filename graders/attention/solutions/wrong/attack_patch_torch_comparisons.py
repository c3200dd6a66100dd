# WRONG(failed): monkeypatches torch's comparisons (allclose, isclose, equal, testing.assert_close, Tensor.__eq__) to always agree, then answers garbage
"""Hostile: patching comparison functions. The host compares with its own
torch, in its own process."""
import torch
import torch.nn as nn
import torch.testing

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _yes(*args, **kwargs):
    return True


if IN_SANDBOX:
    torch.allclose = torch.equal = _yes
    torch.isclose = lambda a, b, *args, **kwargs: torch.ones(torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool)
    torch.testing.assert_close = lambda *args, **kwargs: None
    torch.Tensor.__eq__ = lambda self, other: torch.ones(self.shape, dtype=torch.bool)
    torch.Tensor.__ne__ = lambda self, other: torch.zeros(self.shape, dtype=torch.bool)


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    return torch.full((*q.shape[:-1], v.shape[-1]), float("nan"), dtype=q.dtype) + 0 * q.sum()


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        return attention(x[:, None], x[:, None], x[:, None], causal=causal)[:, 0]
