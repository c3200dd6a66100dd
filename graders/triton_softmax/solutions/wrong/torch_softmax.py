# WRONG(rejected): calls torch.softmax instead of writing a kernel
"""Right values, broken rule: the softmax is torch's, and no Triton kernel runs."""

import torch


def softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)
