# WRONG(rejected): tears down the grader's guards (import hooks, finders, torch modes, its own kernel registrations) and then calls fused attention
"""Hostile: tampering with the in-process guards. Hooks put back are reported
as tampering, the dispatcher-level block has no handle to drop, and an
override registered on top of it cannot reach the fused kernel."""
import builtins
import gc
import importlib
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

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


def _tear_down():
    builtins.__import__ = importlib.__import__ = importlib._bootstrap.__import__
    sys.meta_path[:] = [f for f in sys.meta_path if "Rule" not in type(f).__name__ and "Rule" not in getattr(f, "__name__", "")]
    while torch._C._len_torch_function_stack():
        torch._C._pop_torch_function_stack()
    for obj in gc.get_objects():
        if isinstance(obj, torch.library.Library):
            try:
                obj._destroy()
            except Exception:  # noqa: BLE001
                pass
    # an override of our own, on top of the grader's, handing back to whatever lies below
    lib = torch.library.Library("aten", "IMPL")
    op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default
    lib.impl("_scaled_dot_product_flash_attention_for_cpu", lambda *a, **k: op.redispatch(
        torch._C.DispatchKeySet(torch._C.DispatchKey.CPU), *a, **k), "CPU")
    globals()["_keep"] = lib


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    try:
        _tear_down()
    except Exception:  # noqa: BLE001
        pass
    return _attend(q, k, v, causal, attn_mask, F.scaled_dot_product_attention)
