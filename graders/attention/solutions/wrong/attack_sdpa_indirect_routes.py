# WRONG(rejected): reaches torch's fused attention by every indirect route (getattr, importlib, torch._C, torch.ops.aten, sys.modules, MHA)
"""Hostile: a forbidden implementation called indirectly. The forbidden aten
ops are replaced at the dispatcher, so every route ends at the same guard,
which reports and raises. Were a route let through, the answers would be
right (a breach shows as a pass)."""
import importlib
import sys

import torch
import torch.nn as nn

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

NAME = "scaled_dot_" + "product_attention"


def _routes():
    yield getattr(torch.nn.functional, NAME)
    yield getattr(importlib.import_module("torch.nn.functional"), NAME)
    yield getattr(torch._C._nn, NAME)
    yield getattr(torch.ops.aten, NAME)
    yield sys.modules["torch.nn.functional"].__dict__[NAME]
    flash = getattr(torch.ops.aten, "_" + NAME.replace("attention", "flash_attention_for_cpu"))
    yield lambda q, k, v, attn_mask=None: flash(q, k, v, attn_mask=torch.where(attn_mask, 0.0, float("-inf")))[0]
    math = getattr(torch.ops.aten, "_" + NAME + "_math")
    yield lambda q, k, v, attn_mask=None: math(q, k, v, attn_mask=attn_mask)[0]


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    for route in _routes():
        try:
            return _attend(q, k, v, causal, attn_mask, route)
        except RuntimeError:
            continue
    return torch.zeros_like(q[..., :1]).expand(*q.shape[:-1], v.shape[-1]).clone()
