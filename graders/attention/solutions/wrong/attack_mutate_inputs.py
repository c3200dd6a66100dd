# WRONG(failed): answers zeros, then zeroes q, k and v in place so that a reference computed afterwards on them would give zeros too
"""Hostile: mutating the inputs after computing. The host keeps its own copy."""
import torch
import torch.nn as nn

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype) + 0 * q.sum()
    with torch.no_grad():
        for t in (q, k, v):
            t.zero_()
    return out


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        return attention(x[:, None], x[:, None], x[:, None], causal=causal)[:, 0]
