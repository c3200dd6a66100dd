"""Starter for mixed_precision: write train_mixed_precision (see README.md for the contract)."""

from __future__ import annotations

import torch


def train_mixed_precision(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    loss_fn,
    *,
    device_type: str,
    dtype: torch.dtype,
    accum_steps: int = 1,
    max_grad_norm: float | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> list[float]:
    """Train `model` on `batches` in order; return one mean loss per optimizer step."""
    raise NotImplementedError("train_mixed_precision")
