# WRONG(failed): starts every layer from zeros even when (h0, c0) is given
"""lstm, known wrong: starts every layer from zeros even when (h0, c0) is given."""

from __future__ import annotations

import torch
from torch import nn


class LSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True):
        super().__init__()
        self.hidden_size, self.num_layers, self.bias = hidden_size, num_layers, bias
        bound = hidden_size ** -0.5
        for k in range(num_layers):
            d_in = input_size if k == 0 else hidden_size
            names = [("weight_ih", (4 * hidden_size, d_in)), ("weight_hh", (4 * hidden_size, hidden_size))]
            if bias:
                names += [("bias_ih", (4 * hidden_size,)), ("bias_hh", (4 * hidden_size,))]
            for name, shape in names:
                self.register_parameter(f"{name}_l{k}", nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, x, state=None, lengths=None):
        T, B, _ = x.shape
        H = self.hidden_size
        if True:
            zeros = x.new_zeros(self.num_layers, B, H)
            state = (zeros, zeros)
        # alive[t, b]: step t is inside sequence b (all steps when no lengths are given)
        steps = torch.arange(T, device=x.device)[:, None]
        alive = (steps < lengths[None, :].to(x.device)) if lengths is not None else torch.ones(T, B, dtype=torch.bool)
        alive = alive[..., None]                                            # (T, B, 1)
        layer_in, h_n, c_n = x, [], []
        for k in range(self.num_layers):
            w_ih, w_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            pre = layer_in @ w_ih.T                                          # (T, B, 4H): every step at once
            if self.bias:
                pre = pre + getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}")
            h, c = state[0][k], state[1][k]                                  # (B, H) each
            outs = []
            for t in range(T):
                gates = pre[t] + h @ w_hh.T                                  # (B, 4H)
                i, f, g, o = gates.chunk(4, dim=-1)                          # nn.LSTM's order
                c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h_new = torch.sigmoid(o) * torch.tanh(c_new)
                h = torch.where(alive[t], h_new, h)                          # frozen past the end
                c = torch.where(alive[t], c_new, c)
                outs.append(torch.where(alive[t], h_new, torch.zeros_like(h_new)))
            layer_in = torch.stack(outs)                                     # (T, B, H)
            h_n.append(h)
            c_n.append(c)
        return layer_in, (torch.stack(h_n), torch.stack(c_n))
