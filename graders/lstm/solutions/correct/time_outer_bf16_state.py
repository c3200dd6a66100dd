"""Time outer, layers inner: each step runs up the whole stack. Under autocast the state is kept in
bfloat16 too (autocast's dtype throughout). Lengths by arithmetic masking; the final state is read
from the per-step history at each sequence's last step."""

import torch
from torch import nn
import torch.nn.functional as F


class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True):
        super().__init__()
        self.hidden_size, self.num_layers, self.use_bias = hidden_size, num_layers, bias
        for k in range(num_layers):
            fan_in = input_size if k == 0 else hidden_size
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.randn(4 * hidden_size, fan_in) * 0.1))
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.randn(4 * hidden_size, hidden_size) * 0.1))
            if bias:
                setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.zeros(4 * hidden_size)))
                setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.zeros(4 * hidden_size)))

    def _cell(self, k, x_t, h, c):
        b_ih = getattr(self, f"bias_ih_l{k}") if self.use_bias else None
        b_hh = getattr(self, f"bias_hh_l{k}") if self.use_bias else None
        z = F.linear(x_t, getattr(self, f"weight_ih_l{k}"), b_ih) + F.linear(h, getattr(self, f"weight_hh_l{k}"), b_hh)
        H = self.hidden_size
        i = torch.sigmoid(z[:, :H])
        f = torch.sigmoid(z[:, H:2 * H])
        g = torch.tanh(z[:, 2 * H:3 * H])
        o = torch.sigmoid(z[:, 3 * H:])
        c = f * c + i * g
        return o * torch.tanh(c), c

    def forward(self, x, state=None, lengths=None):
        T, B, _ = x.shape
        H, L = self.hidden_size, self.num_layers
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        if state is None:
            h = [x.new_zeros(B, H, dtype=dtype) for _ in range(L)]
            c = [x.new_zeros(B, H, dtype=dtype) for _ in range(L)]
        else:
            h = [s.to(dtype) for s in state[0].unbind(0)]
            c = [s.to(dtype) for s in state[1].unbind(0)]
        hist_h, hist_c, outputs = [], [], []
        for t in range(T):
            inp = x[t]
            for k in range(L):
                h[k], c[k] = self._cell(k, inp, h[k], c[k])
                h[k], c[k] = h[k].to(dtype), c[k].to(dtype)
                inp = h[k]
            outputs.append(inp)
            hist_h.append(torch.stack(h))        # (L, B, H)
            hist_c.append(torch.stack(c))
        output = torch.stack(outputs)            # (T, B, H)
        hist_h, hist_c = torch.stack(hist_h), torch.stack(hist_c)   # (T, L, B, H)
        if lengths is None:
            return output, (hist_h[-1], hist_c[-1])
        lengths = lengths.to(x.device)
        keep = (torch.arange(T, device=x.device)[:, None] < lengths[None, :]).to(dtype)  # (T, B)
        output = output * keep[..., None]
        # a sequence's final state is the one after its own last step, lengths - 1
        last = (lengths - 1).view(1, 1, B, 1).expand(1, L, B, H)
        h_n = hist_h.gather(0, last).squeeze(0)
        c_n = hist_c.gather(0, last).squeeze(0)
        return output, (h_n, c_n)
