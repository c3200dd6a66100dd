# WRONG(rejected): reaches torch's quantizable LSTM (plain Python over generic ops) by attribute, which the rules name
"""lstm, known wrong: torch.ao.nn.quantizable.LSTM in disguise."""

import torch
from torch import nn


class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True):
        super().__init__()
        self.inner = torch.ao.nn.quantizable.LSTM(input_size, hidden_size, num_layers, bias=bias)

    def forward(self, x, state=None, lengths=None):
        return self.inner(x, state)
