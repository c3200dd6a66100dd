"""Correct, written another way: one sample at a time with Python floats. The schedule and
alpha_bar are Python float lists (float64 arithmetic), each sample's coefficients are plain
floats, and a Python float times a float32 tensor stays float32, so x keeps its dtype."""

import math

import torch


def make_schedule(kind, T):
    if kind == "linear":
        return torch.tensor([1e-4 + (0.02 - 1e-4) * i / (T - 1) for i in range(T)], dtype=torch.float64)
    if kind == "cosine":
        f = [math.cos((i / T + 0.008) / 1.008 * math.pi / 2) ** 2 for i in range(T + 1)]
        return torch.tensor([min(1.0 - f[i + 1] / f[i], 0.999) for i in range(T)], dtype=torch.float64)
    raise ValueError(kind)


def _alpha_bars(betas):
    out, acc = [], 1.0
    for b in betas.tolist():
        acc *= 1.0 - b
        out.append(acc)
    return out


def q_sample(x0, t, noise, betas):
    ab = _alpha_bars(betas)
    rows = [math.sqrt(ab[ti]) * x0[i] + math.sqrt(1.0 - ab[ti]) * noise[i] for i, ti in enumerate(t.tolist())]
    return torch.stack(rows)


def training_loss(model, x0, t, noise, betas):
    diff = model(q_sample(x0, t, noise, betas), t) - noise
    return (diff * diff).sum() / diff.numel()


def p_sample(model, x_t, t, noise, betas):
    ab, beta = _alpha_bars(betas), betas.tolist()
    eps = model(x_t, t)
    rows = []
    for i, ti in enumerate(t.tolist()):
        mean = (x_t[i] - beta[ti] / math.sqrt(1.0 - ab[ti]) * eps[i]) / math.sqrt(1.0 - beta[ti])
        rows.append(mean + math.sqrt(beta[ti]) * noise[i] if ti > 0 else mean)
    return torch.stack(rows)


def ddim_step(model, x_t, t, t_prev, eta, noise, betas):
    ab = _alpha_bars(betas)
    eps = model(x_t, t)
    rows = []
    for i, (ti, pi) in enumerate(zip(t.tolist(), t_prev.tolist())):
        a, a_prev = ab[ti], (ab[pi] if pi >= 0 else 1.0)
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a)) * math.sqrt(1.0 - a / a_prev)
        x0 = (x_t[i] - math.sqrt(1.0 - a) * eps[i]) / math.sqrt(a)
        rows.append(math.sqrt(a_prev) * x0 + math.sqrt(1.0 - a_prev - sigma * sigma) * eps[i] + sigma * noise[i])
    return torch.stack(rows)
