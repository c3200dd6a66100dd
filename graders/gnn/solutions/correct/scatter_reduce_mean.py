"""Correct, a third way: GCN propagates before the linear map (A_norm X) W^T, and MeanConv
uses scatter_reduce(reduce="mean", include_self=False), which leaves empty rows at zero."""

import torch
from torch import nn


class GCNConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-0.1, 0.1))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        n = x.shape[0]
        src, dst = edge_index
        fill = torch.ones(n, dtype=x.dtype)
        fill[src[src == dst]] = 0.0                              # nodes that already have a loop
        deg = fill + torch.zeros(n, dtype=x.dtype).index_add(0, dst, torch.ones(dst.numel(), dtype=x.dtype))
        d = deg ** -0.5
        agg = (fill * d * d)[:, None] * x
        agg = agg.index_add(0, dst, (d[src] * d[dst])[:, None] * x[src])
        out = agg @ self.weight.T
        return out if self.bias is None else out + self.bias


class MeanConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.lin_root = nn.Linear(in_features, out_features, bias=False)
        self.lin_neigh = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        src, dst = edge_index
        index = dst[:, None].expand(-1, x.shape[1])
        mean = torch.zeros_like(x).scatter_reduce(0, index, x[src], reduce="mean", include_self=False)
        out = self.lin_root(x) + self.lin_neigh(mean)
        return out if self.bias is None else out + self.bias
