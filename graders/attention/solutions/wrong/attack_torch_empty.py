# WRONG(failed): returns torch.empty (uninitialised memory), hoping a right answer is still lying in it
"""Hostile: uninitialised memory. No reference ever runs in the sandbox, so no
right answer lies in freed memory."""
import torch
import torch.nn as nn

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    torch.empty(1 << 20)  # churn the allocator
    return torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype) + 0 * q.sum()


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        return attention(x[:, None], x[:, None], x[:, None], causal=causal)[:, 0]
