# WRONG(failed): takes the number of nodes from edge_index.max() + 1 instead of x.shape[0]: short when the last nodes are in no edge, and raises on an empty edge_index
"""gnn, known wrong: N read off edge_index; right wherever the last node is in some edge."""

from __future__ import annotations

import torch
from torch import nn


def _self_loop_fill(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """1.0 for each node with no self-loop in edge_index (README: added only where missing)."""
    src, dst = edge_index
    has_loop = torch.zeros(n, dtype=torch.bool, device=src.device)
    has_loop[src[src == dst]] = True
    return (~has_loop).to(torch.float64)


class GCNConv(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        n = int(edge_index.max()) + 1
        src, dst = edge_index
        h = x @ self.weight.T                                                # (N, F_out)
        loop = _self_loop_fill(edge_index, n).to(x.dtype)                     # (N,) 1 where a loop is added
        deg = loop.clone().index_add_(0, dst, torch.ones_like(dst, dtype=x.dtype))   # in-degree of Â, >= 1
        inv_sqrt = deg.rsqrt()
        coef = inv_sqrt[dst] * inv_sqrt[src]                                 # (E,) one per edge, repeats included
        out = (loop * inv_sqrt * inv_sqrt)[:, None] * h                      # the added self-loops
        out = out.index_add(0, dst, coef[:, None] * h[src])                  # messages j -> i into row i
        return out + self.bias if self.bias is not None else out


class MeanConv(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.lin_root = nn.Linear(in_features, out_features, bias=False)
        self.lin_neigh = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        n = int(edge_index.max()) + 1
        src, dst = edge_index
        total = torch.zeros_like(x).index_add(0, dst, x[src])                 # (N, F_in) sums of sources
        count = torch.zeros(n, dtype=x.dtype, device=x.device).index_add_(0, dst, torch.ones_like(dst, dtype=x.dtype))
        mean = total / count.clamp(min=1)[:, None]                           # 0 where nothing comes in
        out = self.lin_root(x) + self.lin_neigh(mean)
        return out + self.bias if self.bias is not None else out
