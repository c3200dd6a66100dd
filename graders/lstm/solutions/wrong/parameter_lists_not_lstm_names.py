# WRONG(failed): right equations, but its parameters are named weight_ih.0, ... (ParameterLists), not nn.LSTM's weight_ih_l0: nn.LSTM's state_dict does not load
import math

import torch
import torch.nn as nn


class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True):
        super().__init__()
        self.hidden_size, self.num_layers, self.bias = hidden_size, num_layers, bias
        k = 1.0 / math.sqrt(hidden_size)
        self.weight_ih, self.weight_hh = nn.ParameterList(), nn.ParameterList()
        self.bias_ih, self.bias_hh = nn.ParameterList(), nn.ParameterList()
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size
            self.weight_ih.append(nn.Parameter(torch.empty(4 * hidden_size, width).uniform_(-k, k)))
            self.weight_hh.append(nn.Parameter(torch.empty(4 * hidden_size, hidden_size).uniform_(-k, k)))
            if bias:
                self.bias_ih.append(nn.Parameter(torch.empty(4 * hidden_size).uniform_(-k, k)))
                self.bias_hh.append(nn.Parameter(torch.empty(4 * hidden_size).uniform_(-k, k)))

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
            w_ih = self.weight_ih[layer]
            w_hh = self.weight_hh[layer]
            h, c = h0[layer], c0[layer]
            outputs = []
            for t in range(T):
                gates = layer_input[t] @ w_ih.t() + h @ w_hh.t()
                if self.bias:
                    gates = gates + self.bias_ih[layer] + self.bias_hh[layer]
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
