"""Starter for optimizer: write AdamW, lr_at and clip_grad_norm (see README.md for the contract)."""

from __future__ import annotations

import torch


class AdamW:
    def __init__(self, param_groups: list[dict], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        raise NotImplementedError("AdamW.__init__")

    def step(self) -> None:
        raise NotImplementedError("AdamW.step")

    def zero_grad(self) -> None:
        raise NotImplementedError("AdamW.zero_grad")

    def state_dict(self) -> dict:
        raise NotImplementedError("AdamW.state_dict")

    def load_state_dict(self, state_dict: dict) -> None:
        raise NotImplementedError("AdamW.load_state_dict")


def lr_at(step: int, base_lr: float, warmup_steps: int, total_steps: int, min_lr: float) -> float:
    raise NotImplementedError("lr_at")


def clip_grad_norm(parameters: list[torch.Tensor], max_norm: float) -> float | torch.Tensor:
    raise NotImplementedError("clip_grad_norm")
