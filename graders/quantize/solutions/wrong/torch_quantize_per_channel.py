# WRONG(rejected): uses torch's quantisation; only numpy is allowed
"""quantize, known wrong: torch.quantize_per_channel does the weights."""

import numpy as np
import torch


def quantize_weight(w):
    t = torch.tensor(w, dtype=torch.float64)
    scale = t.abs().amax(dim=1) / 127
    q = torch.quantize_per_channel(t, scale, torch.zeros(len(scale), dtype=torch.long), 0, torch.qint8)
    return q.int_repr().numpy(), scale.numpy().astype(np.float64)
