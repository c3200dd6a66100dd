"""Starter for lstm: write LSTM (see README.md for the contract)."""

from __future__ import annotations

import torch
from torch import nn


class LSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True):
        super().__init__()
        # parameters named as nn.LSTM's: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_ih_l1, ...
        raise NotImplementedError("LSTM.__init__")

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
                lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError("LSTM.forward")
