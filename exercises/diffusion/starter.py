"""Starter for diffusion: the five functions of README.md's contract."""

from __future__ import annotations

import torch


def make_schedule(kind: str, T: int) -> torch.Tensor:
    raise NotImplementedError("make_schedule")


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError("q_sample")


def training_loss(model, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError("training_loss")


def p_sample(model, x_t: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError("p_sample")


def ddim_step(model, x_t: torch.Tensor, t: torch.Tensor, t_prev: torch.Tensor, eta: float, noise: torch.Tensor,
              betas: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError("ddim_step")
