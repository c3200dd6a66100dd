"""Host side of diffusion: inputs, the trusted answer (the README's formulas in float64), the check.

The schedule the functions receive is ours (make_betas below), so a case of q_sample or a
sampling step does not depend on the candidate's own schedule; the schedule has cases of its own.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

BETA_START, BETA_END = 1e-4, 0.02     # Ho et al. (2020)
COSINE_S, MAX_BETA = 0.008, 0.999     # Nichol & Dhariwal (2021)


def make_betas(kind: str, T: int) -> torch.Tensor:
    if kind == "linear":
        return torch.linspace(BETA_START, BETA_END, T, dtype=torch.float64)
    # cosine: alpha_bar(u) = cos^2((u / T + s) / (1 + s) * pi / 2), beta_t = 1 - alpha_bar(t + 1) / alpha_bar(t)
    bar = [math.cos((u / T + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2 for u in range(T + 1)]
    return torch.tensor([min(1 - bar[u + 1] / bar[u], MAX_BETA) for u in range(T)], dtype=torch.float64)


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """params: op; kind and T (the schedule); B, C, H, W, dtype; t: "mixed" (0, T-1 and random
    steps), "zero", "last" or "random"; for ddim, eta and stride (t_prev = t - stride, -1 at the end)."""
    p = case.params
    if p["op"] == "schedule":
        return {}
    g = torch.Generator().manual_seed(seed)
    T, B, C, H, W = (int(p[k]) for k in ("T", "B", "C", "H", "W"))
    t = torch.randint(T, (B,), generator=g)
    if p["t"] == "zero":
        t[:] = 0
    elif p["t"] == "last":
        t[:] = T - 1
    elif p["t"] == "mixed":
        t[0], t[-1] = 0, T - 1
    inputs = {"betas": make_betas(p["kind"], T), "t": t,
              "x": torch.randn(B, C, H, W, generator=g, dtype=torch.float64),
              "noise": torch.randn(B, C, H, W, generator=g, dtype=torch.float64),
              "model.w": torch.randn(C, generator=g, dtype=torch.float64) * 0.5,
              "model.emb": torch.randn(T, C, generator=g, dtype=torch.float64) * 0.5}
    if p["op"] == "ddim":
        inputs["t_prev"] = (t - int(p["stride"])).clamp(min=-1)
    return inputs


def _bar(betas: torch.Tensor) -> torch.Tensor:
    return torch.cumprod(1.0 - betas, dim=0)


def _b(v: torch.Tensor) -> torch.Tensor:
    return v[:, None, None, None]   # one coefficient per sample, over (C, H, W)


def answer64(op: str, p: dict, inputs: dict, model) -> dict[str, torch.Tensor]:
    """The README's formulas, every tensor float64."""
    betas, t, x, noise = inputs["betas"], inputs["t"], inputs["x"], inputs["noise"]
    bar = _bar(betas)
    if op == "q_sample":
        return {"x_t": _b(bar[t].sqrt()) * x + _b((1 - bar[t]).sqrt()) * noise}
    if op == "loss":
        x_t = _b(bar[t].sqrt()) * x + _b((1 - bar[t]).sqrt()) * noise
        loss = ((model(x_t, t) - noise) ** 2).mean()
        loss.backward()
        return {"loss": loss.detach(), "grad.w": model.w.grad, "grad.emb": model.emb.grad}
    with torch.no_grad():
        eps = model(x, t)
        if op == "p_sample":
            alpha = 1 - betas[t]
            mean = _b(alpha.rsqrt()) * (x - _b(betas[t] / (1 - bar[t]).sqrt()) * eps)
            sigma = torch.where(t > 0, betas[t].sqrt(), torch.zeros_like(betas[t]))   # no noise at t = 0
            return {"x_prev": mean + _b(sigma) * noise}
        t_prev = inputs["t_prev"]
        bar_prev = torch.where(t_prev >= 0, bar[t_prev.clamp(min=0)], torch.ones_like(bar[t]))
        x0 = (x - _b((1 - bar[t]).sqrt()) * eps) / _b(bar[t].sqrt())
        sigma = float(p["eta"]) * ((1 - bar_prev) / (1 - bar[t])).sqrt() * (1 - bar[t] / bar_prev).sqrt()
        direction = _b((1 - bar_prev - sigma ** 2).sqrt()) * eps
        return {"x_prev": _b(bar_prev.sqrt()) * x0 + direction + _b(sigma) * noise}


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    if p["op"] == "schedule":
        return {"betas": make_betas(p["kind"], int(p["T"]))}
    dtype = getattr(torch, p["dtype"])
    # the candidate sees x, noise and the model's weights rounded to the dtype: so does the answer
    rounded = {k: (v.to(dtype).double() if k in ("x", "noise", "model.w", "model.emb") else v.clone())
               for k, v in inputs.items()}
    model = ctx.driver.build_model(rounded, torch.float64)
    return {k: v.to(dtype) for k, v in answer64(p["op"], p, rounded, model).items()}


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    p = case.params
    tol = ctx.tolerances["schedule" if p["op"] == "schedule" else p["dtype"]]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in want:
        result = result & compare_arrays(key, outputs[key], want[key], tol.atol, tol.rtol, expect_type=torch.Tensor)
    return result
