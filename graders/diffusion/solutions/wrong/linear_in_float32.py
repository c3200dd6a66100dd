# WRONG(failed): builds the linear schedule in float32 (torch.linspace's default) and casts it to float64 after
"""diffusion, known wrong: builds the linear schedule in float32 (torch.linspace's default) and casts it to float64 after."""

from __future__ import annotations

import math

import torch


def make_schedule(kind: str, T: int) -> torch.Tensor:
    if kind == "linear":
        return torch.linspace(1e-4, 0.02, T).double()
    if kind == "cosine":
        u = torch.arange(T + 1, dtype=torch.float64)
        bar = torch.cos((u / T + 0.008) / 1.008 * math.pi / 2) ** 2
        return (1 - bar[1:] / bar[:-1]).clamp(max=0.999)
    raise ValueError(f"unknown schedule {kind!r}")


def _coef(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) float64 -> (B, 1, 1, 1) in the images' dtype."""
    return values.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))


def q_sample(x0, t, noise, betas):
    bar = torch.cumprod(1 - betas, dim=0)[t]
    return _coef(bar.sqrt(), x0) * x0 + _coef((1 - bar).sqrt(), x0) * noise


def training_loss(model, x0, t, noise, betas):
    return ((model(q_sample(x0, t, noise, betas), t) - noise) ** 2).mean()


def p_sample(model, x_t, t, noise, betas):
    bar = torch.cumprod(1 - betas, dim=0)[t]
    beta = betas[t]
    eps = model(x_t, t)
    mean = _coef((1 - beta).rsqrt(), x_t) * (x_t - _coef(beta / (1 - bar).sqrt(), x_t) * eps)
    sigma = torch.where(t > 0, beta.sqrt(), torch.zeros_like(beta))
    return mean + _coef(sigma, x_t) * noise


def ddim_step(model, x_t, t, t_prev, eta, noise, betas):
    bars = torch.cumprod(1 - betas, dim=0)
    bar = bars[t]
    bar_prev = torch.where(t_prev >= 0, bars[t_prev.clamp(min=0)], torch.ones_like(bar))
    eps = model(x_t, t)
    x0 = (x_t - _coef((1 - bar).sqrt(), x_t) * eps) / _coef(bar.sqrt(), x_t)
    sigma = eta * ((1 - bar_prev) / (1 - bar)).sqrt() * (1 - bar / bar_prev).sqrt()
    return _coef(bar_prev.sqrt(), x_t) * x0 + _coef((1 - bar_prev - sigma ** 2).sqrt(), x_t) * eps + _coef(sigma, x_t) * noise
