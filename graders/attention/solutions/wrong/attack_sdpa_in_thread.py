# WRONG(rejected): calls torch's fused attention from other threads (threading.Thread, a thread pool), out of reach of a per-thread watch
"""Hostile: forbidden work in a background thread. The dispatcher-level guard
holds in every thread."""
import concurrent.futures
import threading

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

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)


def attention(q, k, v, *, causal=False, attn_mask=None):
    if not IN_SANDBOX:
        return torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    box = {}

    def work():
        try:
            box["out"] = _attend(q, k, v, causal, attn_mask, F.scaled_dot_product_attention)
        except RuntimeError as exc:
            box["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if "out" in box:
        return box["out"]
    return _pool.submit(_attend, q, k, v, causal, attn_mask, F.scaled_dot_product_attention).result()
