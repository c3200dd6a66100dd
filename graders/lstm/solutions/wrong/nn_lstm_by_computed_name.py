# WRONG(rejected): subclasses nn.LSTM reached through a name built at run time; its `lstm` op is refused as it runs
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

_TORCH_LSTM = getattr(nn, "".join(["LS", "TM"]))


class LSTM(_TORCH_LSTM):
    def forward(self, x, state=None, lengths=None):
        if lengths is None:
            return super().forward(x, state)
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, final = super().forward(packed, state)
        return pad_packed_sequence(out, total_length=x.shape[0])[0], final
