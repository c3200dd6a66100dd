# WRONG(rejected): aggregates with a torch sparse matrix (torch.sparse.mm), which the rules refuse
"""gnn, known wrong: correct values through torch.sparse, a forbidden shortcut."""

import torch
import torch.sparse
from torch import nn


class GCNConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        n = x.shape[0]
        src, dst = edge_index
        fill = torch.ones(n, dtype=x.dtype)
        fill[src[src == dst]] = 0
        rows, cols = torch.cat([dst, torch.arange(n)]), torch.cat([src, torch.arange(n)])
        vals = torch.cat([torch.ones(dst.numel(), dtype=x.dtype), fill])
        a = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, n)).coalesce()
        d = torch.sparse.sum(a, dim=1).to_dense().rsqrt()
        i, j = a.indices()
        a = torch.sparse_coo_tensor(a.indices(), a.values() * d[i] * d[j], (n, n))
        out = torch.sparse.mm(a, x @ self.weight.T)
        return out if self.bias is None else out + self.bias


class MeanConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.lin_root = nn.Linear(in_features, out_features, bias=False)
        self.lin_neigh = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        src, dst = edge_index
        total = torch.zeros_like(x).index_add(0, dst, x[src])
        count = torch.zeros(x.shape[0], dtype=x.dtype).index_add(0, dst, torch.ones(dst.numel(), dtype=x.dtype))
        out = self.lin_root(x) + self.lin_neigh(total / count.clamp(min=1)[:, None])
        return out if self.bias is None else out + self.bias
