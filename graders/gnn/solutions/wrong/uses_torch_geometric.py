# WRONG(rejected): wraps torch_geometric's GCNConv and SAGEConv instead of writing the layers, a forbidden import
"""gnn, known wrong: the graph library's own layers (right values, where it is installed)."""

from torch import nn
from torch_geometric.nn import GCNConv as PygGCNConv, SAGEConv


class GCNConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.conv = PygGCNConv(in_features, out_features, bias=bias)

    def forward(self, x, edge_index):
        return self.conv(x, edge_index)


class MeanConv(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.conv = SAGEConv(in_features, out_features, aggr="mean", bias=bias)

    def forward(self, x, edge_index):
        return self.conv(x, edge_index)
