"""Correct, written a fourth way: one torch.autograd.Function, "sum weighted messages into
their targets", with a hand-written backward (the adjoint: gradients go back target -> source),
shared by both layers. GCN's missing self-loops are a separate diagonal term; MeanConv projects
first and aggregates the projected rows (mean(x) W^T == mean(x W^T))."""

import torch
from torch import nn


class Propagate(torch.autograd.Function):
    """out[i] = sum over edges k with dst[k] = i of coef[k] * h[src[k]]; h (N, F), coef (E,)."""

    @staticmethod
    def forward(ctx, h, src, dst, coef):
        ctx.save_for_backward(src, dst, coef)
        out = torch.zeros_like(h)
        out.index_add_(0, dst, h.index_select(0, src) * coef[:, None])
        return out

    @staticmethod
    def backward(ctx, grad_out):
        src, dst, coef = ctx.saved_tensors
        grad_h = torch.zeros_like(grad_out)
        grad_h.index_add_(0, src, grad_out.index_select(0, dst) * coef[:, None])   # A^T grad_out
        return grad_h, None, None, None


def in_count(dst, n, dtype):
    """(N,) how many edges end at each node, every copy counted."""
    return torch.zeros(n, dtype=dtype, device=dst.device).index_add_(0, dst, torch.ones(dst.shape[0], dtype=dtype,
                                                                                         device=dst.device))


class GCNConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(out_features, in_features)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        n = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        missing = torch.ones(n, dtype=x.dtype, device=x.device)
        missing[src[src == dst]] = 0.0                  # a listed loop stays, with its count, and none is added
        deg = in_count(dst, n, x.dtype) + missing       # (N,) >= 1
        h = x @ self.weight.T                           # (N, out)
        coef = (deg[src] * deg[dst]).rsqrt()            # (E,)
        out = Propagate.apply(h, src, dst, coef) + (missing / deg)[:, None] * h
        return out if self.bias is None else out + self.bias


class MeanConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.lin_root = nn.Linear(in_features, out_features, bias=False)
        self.lin_neigh = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        src, dst = edge_index[0], edge_index[1]
        coef = 1.0 / in_count(dst, x.shape[0], x.dtype)[dst]   # read at edges' targets only: count >= 1 there
        out = self.lin_root(x) + Propagate.apply(self.lin_neigh(x), src, dst, coef)
        return out if self.bias is None else out + self.bias
