# WRONG(failed|rejected): returns a torch.Tensor subclass whose __torch_function__ lies (claims the right dtype, device and values when asked)
"""Hostile: a tensor subclass that lies. Only a plain torch.Tensor is
accepted, and the bytes that cross to the host are plain data."""
import torch
import torch.nn as nn

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.__eq__, torch.allclose, torch.equal, torch.isclose):
            return True
        out = super().__torch_function__(func, types, args, kwargs)
        return out


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype) + 0 * q.sum()
    return out.as_subclass(Liar)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        return attention(x[:, None], x[:, None], x[:, None], causal=causal)[:, 0]
