# WRONG(rejected): imports torch.nn.LSTM by name, which the rules forbid
"""lstm, known wrong: a subclass of torch's LSTM."""

from torch.nn import LSTM as TorchLSTM


class LSTM(TorchLSTM):
    def forward(self, x, state=None, lengths=None):
        return super().forward(x, state)
