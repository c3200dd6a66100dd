"""Correct, written another way: alpha_bar in log space (exp of a cumulative sum of log1p),
the cosine schedule from a float64 list, and the ancestral mean in its posterior form
(a mix of the predicted x0 and x_t), which is the README's formula rearranged."""

import math

import torch


def make_schedule(kind, T):
    if kind == "linear":
        step = (0.02 - 1e-4) / (T - 1) if T > 1 else 0.0
        return torch.tensor([1e-4 + step * i for i in range(T - 1)] + [0.02], dtype=torch.float64)
    f = [math.cos((u / T + 0.008) / (1 + 0.008) * math.pi / 2) ** 2 for u in range(T + 1)]
    return torch.tensor([min(1.0 - f[u + 1] / f[u], 0.999) for u in range(T)], dtype=torch.float64)


def alpha_bar(betas):
    return torch.exp(torch.cumsum(torch.log1p(-betas), dim=0))


def per_sample(v, x):
    return v.to(x.dtype).view(x.shape[0], 1, 1, 1)


def q_sample(x0, t, noise, betas):
    ab = alpha_bar(betas).index_select(0, t)
    return per_sample(torch.sqrt(ab), x0) * x0 + per_sample(torch.sqrt(1.0 - ab), x0) * noise


def training_loss(model, x0, t, noise, betas):
    x_t = q_sample(x0, t, noise, betas)
    diff = model(x_t, t) - noise
    return (diff * diff).sum() / diff.numel()


def p_sample(model, x_t, t, noise, betas):
    abs_ = alpha_bar(betas)
    ab = abs_[t]
    ab_prev = torch.where(t > 0, abs_[(t - 1).clamp(min=0)], torch.ones_like(ab))
    beta = betas[t]
    eps = model(x_t, t)
    x0 = (x_t - per_sample(torch.sqrt(1 - ab), x_t) * eps) / per_sample(torch.sqrt(ab), x_t)
    c0 = torch.sqrt(ab_prev) * beta / (1 - ab)
    ct = torch.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)
    mean = per_sample(c0, x_t) * x0 + per_sample(ct, x_t) * x_t
    std = torch.sqrt(beta) * (t > 0).to(beta.dtype)
    return mean + per_sample(std, x_t) * noise


def ddim_step(model, x_t, t, t_prev, eta, noise, betas):
    abs_ = alpha_bar(betas)
    ab = abs_[t]
    ab_prev = torch.ones_like(ab)
    ended = t_prev < 0
    ab_prev[~ended] = abs_[t_prev[~ended]]
    eps = model(x_t, t)
    x0 = (x_t - per_sample(torch.sqrt(1 - ab), x_t) * eps) / per_sample(torch.sqrt(ab), x_t)
    var = eta ** 2 * (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)
    return (per_sample(torch.sqrt(ab_prev), x_t) * x0 + per_sample(torch.sqrt(1 - ab_prev - var), x_t) * eps
            + per_sample(torch.sqrt(var), x_t) * noise)
