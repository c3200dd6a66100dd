# WRONG(failed): feeds x to every layer instead of the previous layer's outputs
import math

import torch
import torch.nn as nn


class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True):
        super().__init__()
        self.hidden_size, self.num_layers, self.bias = hidden_size, num_layers, bias
        k = 1.0 / math.sqrt(hidden_size)
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_ih_l{layer}", nn.Parameter(torch.empty(4 * hidden_size, width).uniform_(-k, k)))
            setattr(self, f"weight_hh_l{layer}", nn.Parameter(torch.empty(4 * hidden_size, hidden_size).uniform_(-k, k)))
            if bias:
                setattr(self, f"bias_ih_l{layer}", nn.Parameter(torch.empty(4 * hidden_size).uniform_(-k, k)))
                setattr(self, f"bias_hh_l{layer}", nn.Parameter(torch.empty(4 * hidden_size).uniform_(-k, k)))

    def forward(self, x, state=None, lengths=None):
        T, B, _ = x.shape
        H = self.hidden_size
        if state is None:
            state = (x.new_zeros(self.num_layers, B, H), x.new_zeros(self.num_layers, B, H))
        h0, c0 = state
        if lengths is None:
            lengths = torch.full((B,), T)
        valid = (torch.arange(T)[:, None] < lengths[None, :]).to(x.device)  # (T, B)
        layer_input = x
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            w_ih = getattr(self, f"weight_ih_l{layer}")
            w_hh = getattr(self, f"weight_hh_l{layer}")
            h, c = h0[layer], c0[layer]
            outputs = []
            for t in range(T):
                gates = x[t] @ w_ih.t() + h @ w_hh.t()
                if self.bias:
                    gates = gates + getattr(self, f"bias_ih_l{layer}") + getattr(self, f"bias_hh_l{layer}")
                i, f, g, o = gates.chunk(4, dim=1)
                i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
                c_next = f * c + i * g
                h_next = o * c_next.tanh()
                m = valid[t][:, None]
                h = torch.where(m, h_next, h)
                c = torch.where(m, c_next, c)
                outputs.append(torch.where(m, h_next, torch.zeros_like(h_next)))
            layer_input = torch.stack(outputs)
            h_n.append(h)
            c_n.append(c)
        out, h_n, c_n = layer_input, torch.stack(h_n), torch.stack(c_n)
        return out, (h_n, c_n)
