"""Correct, written another way: a cell function applied step by step with explicit gate slices,
states blended by a float mask, and each layer's final state gathered from the step at
lengths - 1 afterwards."""

import torch
import torch.nn as nn


def cell(x_t, h, c, w_ih, w_hh, b, H):
    z = torch.addmm(b, x_t, w_ih.t()) + h.matmul(w_hh.t()) if b is not None else x_t.matmul(w_ih.t()) + h.matmul(w_hh.t())
    i = torch.sigmoid(z[:, 0:H])
    f = torch.sigmoid(z[:, H:2 * H])
    g = torch.tanh(z[:, 2 * H:3 * H])
    o = torch.sigmoid(z[:, 3 * H:4 * H])
    c = f * c + i * g
    return o * torch.tanh(c), c


class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True):
        super().__init__()
        self.H, self.L, self.use_bias = hidden_size, num_layers, bias
        for k in range(num_layers):
            d = input_size if k == 0 else hidden_size
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.randn(4 * hidden_size, d) * 0.1))
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.randn(4 * hidden_size, hidden_size) * 0.1))
            if bias:
                setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.zeros(4 * hidden_size)))
                setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.zeros(4 * hidden_size)))

    def forward(self, x, state=None, lengths=None):
        T, B, _ = x.shape
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long)
        mask = (torch.arange(T)[:, None] < lengths[None, :]).to(x.dtype)[..., None]   # (T, B, 1)
        last = (lengths - 1).long()
        seq, hs_n, cs_n = x, [], []
        for k in range(self.L):
            if state is None:
                h = x.new_zeros(B, self.H)
                c = x.new_zeros(B, self.H)
            else:
                h, c = state[0][k], state[1][k]
            b = None
            if self.use_bias:
                b = getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}")
            hs, cs = [], []
            for t in range(T):
                h2, c2 = cell(seq[t], h, c, getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}"), b, self.H)
                h, c = h2, c2
                hs.append(h)
                cs.append(c)
            hs, cs = torch.stack(hs), torch.stack(cs)                # (T, B, H) unmasked
            rows = torch.arange(B)
            hs_n.append(hs[last, rows])
            cs_n.append(cs[last, rows])
            seq = hs * mask                                          # zero past each end
        return seq, (torch.stack(hs_n), torch.stack(cs_n))
