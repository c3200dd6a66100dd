# WRONG(rejected): returns a placeholder and a TorchFunctionMode left on at import computes the real answer with fused attention when the grader reads it
"""Hostile: work deferred to whoever reads the output (the prior-art "lazy
tensor" trick, with a mode instead of a subclass). The read happens inside
the guarded call, and the fused op is blocked at the dispatcher anyway."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _attend(q, k, v, causal, attn_mask, sdpa):
    """Right answers, if `sdpa` (torch's fused attention, reached some forbidden way) is let through."""
    Lq, Lk = q.shape[-2], k.shape[-2]
    allowed = torch.ones(Lq, Lk, dtype=torch.bool, device=q.device)
    if causal:
        allowed = allowed.tril()
    if attn_mask is not None:
        allowed = allowed & attn_mask
    allowed = allowed.expand(q.shape[0], q.shape[1], Lq, Lk)
    has_key = allowed.any(dim=-1, keepdim=True)        # (B, H, Lq, 1)
    work = torch.float32 if q.dtype in (torch.float16, torch.bfloat16) else q.dtype
    out = sdpa(q.to(work), k.to(work), v.to(work), attn_mask=allowed | ~has_key)
    return torch.where(has_key, out, torch.zeros((), dtype=work)).to(q.dtype)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        B, T, E = x.shape
        H = self.num_heads
        q, k, v = (t.reshape(B, T, H, E // H).transpose(1, 2) for t in self.qkv(x).split(E, dim=-1))
        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        y = attention(q, k, v, causal=causal, attn_mask=mask)       # (B, H, T, D)
        return self.proj(y.transpose(1, 2).reshape(B, T, E))

_pending = {}


class Deferred(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.detach, torch.Tensor.cpu) and args and id(args[0]) in _pending:
            q, k, v, causal, mask = _pending.pop(id(args[0]))
            with torch.no_grad():
                args[0].copy_(_attend(q, k, v, causal, mask, F.scaled_dot_product_attention))
        return func(*args, **kwargs)


Deferred().__enter__()  # and never left


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    _pending[id(out)] = (q.detach(), k.detach(), v.detach(), causal, attn_mask)
    return out
