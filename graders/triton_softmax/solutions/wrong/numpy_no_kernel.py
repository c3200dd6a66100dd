# WRONG(rejected): computes the softmax in numpy and launches no Triton kernel
"""Right values (on the CPU), broken rules: numpy is a forbidden import, and the call launches nothing."""

import numpy as np
import torch


def softmax(x: torch.Tensor) -> torch.Tensor:
    a = np.asarray(x.detach().cpu().float())                # (M, N) float32
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return torch.from_numpy(e / e.sum(axis=1, keepdims=True)).to(x.dtype)
