"""Starter for gnn: write GCNConv and MeanConv (see README.md for the contract)."""

from __future__ import annotations

import torch
from torch import nn


class GCNConv(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        raise NotImplementedError("GCNConv.__init__: create weight (out, in) and bias (out,)")

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("GCNConv.forward")


class MeanConv(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        raise NotImplementedError("MeanConv.__init__: create lin_root, lin_neigh (nn.Linear, no bias) and bias")

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("MeanConv.forward")
