# WRONG(rejected): sums and averages the messages with torch_scatter, a forbidden import, instead of torch's own index_add_ or scatter_reduce
"""gnn, known wrong: the layers written out, the aggregation left to a graph library."""

import torch
import torch_scatter
from torch import nn


class GCNConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * in_features ** -0.5)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        n = x.shape[0]
        src, dst = edge_index
        missing = torch.ones(n, dtype=torch.bool, device=x.device)
        missing[src[src == dst]] = False                 # a loop only where none is listed
        loops = torch.arange(n, device=x.device)[missing]
        src, dst = torch.cat([src, loops]), torch.cat([dst, loops])
        deg = torch_scatter.scatter_add(torch.ones_like(dst, dtype=x.dtype), dst, dim_size=n)
        h = x @ self.weight.T
        out = torch_scatter.scatter_add(h[src] * (deg[src] * deg[dst]).rsqrt()[:, None], dst, dim=0, dim_size=n)
        return out if self.bias is None else out + self.bias


class MeanConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.lin_root = nn.Linear(in_features, out_features, bias=False)
        self.lin_neigh = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x, edge_index):
        mean = torch_scatter.scatter_mean(x[edge_index[0]], edge_index[1], dim=0, dim_size=x.shape[0])
        out = self.lin_root(x) + self.lin_neigh(mean)
        return out if self.bias is None else out + self.bias
