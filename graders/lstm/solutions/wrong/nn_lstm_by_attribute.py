# WRONG(rejected): runs torch's own nn.LSTM, reached as an attribute of torch.nn (counts as importing it: caught before it runs)
"""lstm, known wrong: wraps nn.LSTM (right values, the forbidden shortcut)."""

from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True):
        super().__init__()
        self.inner = nn.LSTM(input_size, hidden_size, num_layers, bias=bias)
        for name, p in self.inner.named_parameters():
            self.register_parameter(name, p)

    def forward(self, x, state=None, lengths=None):
        if lengths is None:
            return self.inner(x, state)
        out, st = self.inner(pack_padded_sequence(x, lengths, enforce_sorted=False), state)
        return pad_packed_sequence(out, total_length=x.shape[0])[0], st
