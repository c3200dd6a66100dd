# HONEST(attention, static): device-agnostic PyTorch (getattr(torch, device_type)), torch._assert,
# a module that forwards attribute writes through super().__setattr__, a typed config.
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn


@dataclass(frozen=True)
class AttentionConfig:
    upcast: bool = True


def _device_module(device: torch.device):
    # torch.cuda, torch.cpu, torch.mps, ...: the same calls on every backend
    return getattr(torch, device.type)


def attention(q, k, v, *, causal=False, attn_mask: Optional[torch.Tensor] = None):
    torch._assert(q.dim() == 4, "q must be (B, H, Lq, D)")
    backend = _device_module(q.device)
    if hasattr(backend, "synchronize") and q.device.type == "cuda":
        backend.synchronize()
    work = torch.float32 if AttentionConfig().upcast and q.dtype != torch.float32 else q.dtype
    scores = q.to(work) @ k.to(work).transpose(-2, -1) / math.sqrt(q.size(-1))   # (B, H, Lq, Lk)
    allowed = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool, device=q.device)
    if causal:
        allowed = allowed.tril()
    if attn_mask is not None:
        allowed = allowed & attn_mask
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return (weights @ v.to(work)).to(q.dtype)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        super().__setattr__("num_heads", num_heads)
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def __getattr__(self, name):
        return super().__getattr__(name)

    def forward(self, x, causal=False, key_padding_mask=None):
        B, T, E = x.shape
        q, k, v = (t.reshape(B, T, self.num_heads, -1).transpose(1, 2) for t in self.qkv(x).split(E, dim=-1))
        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        y = attention(q, k, v, causal=causal, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(B, T, E))
