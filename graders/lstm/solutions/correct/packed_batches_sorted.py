"""As a PackedSequence runs: sequences sorted longest first, so at step t the first batch_sizes[t]
rows are the ones still running and the batch shrinks as sequences end. A row's final state is
taken off when it drops out; outputs are padded with zeros and everything is put back in the
caller's order at the end."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.has_bias = bias
        gates = 4 * hidden_size
        for k in range(num_layers):
            width = input_size if k == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(gates, width).uniform_(-0.1, 0.1)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(gates, hidden_size).uniform_(-0.1, 0.1)))
            if bias:
                self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.zeros(gates)))
                self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.zeros(gates)))

    def _layer(self, k, steps, batch_sizes, h, c):
        """steps: list of (batch_sizes[t], D) inputs; h, c: (B, H) sorted. Returns outputs, h_n, c_n."""
        w_ih, w_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
        b = getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}") if self.has_bias else None
        ended_h, ended_c, outs = [], [], []
        for x_t, n in zip(steps, batch_sizes):
            if n < h.shape[0]:                       # rows n.. ended at the previous step
                ended_h.append(h[n:])
                ended_c.append(c[n:])
                h, c = h[:n], c[:n]
            gates = F.linear(x_t, w_ih, b) + h @ w_hh.t()     # (n, 4H)
            i, f, g, o = gates.split(self.hidden_size, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        ended_h.append(h)
        ended_c.append(c)
        # chunks ended later hold lower rows: reversed, they are in row order again
        return outs, torch.cat(ended_h[::-1]), torch.cat(ended_c[::-1])

    def forward(self, x, state=None, lengths=None):
        T, B, _ = x.shape
        H = self.hidden_size
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long)
        order = torch.argsort(lengths.cpu(), descending=True, stable=True)
        back = torch.argsort(order)
        order, back = order.to(x.device), back.to(x.device)
        sorted_lengths = lengths.cpu()[order.cpu()].tolist()
        batch_sizes = [sum(1 for n in sorted_lengths if n > t) for t in range(T)]
        if state is None:
            h0 = c0 = x.new_zeros(self.num_layers, B, H)
        else:
            h0, c0 = state[0].index_select(1, order), state[1].index_select(1, order)
        xs = x.index_select(1, order)
        steps = [xs[t, :n] for t, n in enumerate(batch_sizes)]
        h_n, c_n = [], []
        for k in range(self.num_layers):
            steps, h, c = self._layer(k, steps, batch_sizes, h0[k], c0[k])
            h_n.append(h)
            c_n.append(c)
        output = torch.stack([F.pad(s, (0, 0, 0, B - s.shape[0])) for s in steps])  # zeros past the ends
        output = output.index_select(1, back)
        h_n = torch.stack(h_n).index_select(1, back)
        c_n = torch.stack(c_n).index_select(1, back)
        return output, (h_n, c_n)
