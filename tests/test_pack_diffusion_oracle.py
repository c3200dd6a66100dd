"""The diffusion grader's trusted answer against oracles written differently from grader.py.

The schedule against Python-float arithmetic and Nichol & Dhariwal's alpha_bar form; the
ancestral step against the DDPM posterior (mean through the predicted x0); DDIM against Song
et al.'s identities (eta = 1 between neighbours is the posterior step, t_prev = -1 is the
predicted x0, eta = 0 ignores the noise); the loss's gradients against float64 finite
differences. Everything runs in-process; tests/test_pack_diffusion.py holds the contract side.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

EXERCISE = "diffusion"
SEED = 20261215


def case(pack, name, **changes):
    c = next(c for c in pack.cases if c.name == name)
    return replace(c, params={**c.params, **changes}) if changes else c


def col(v: torch.Tensor) -> torch.Tensor:
    return v[:, None, None, None]   # (B,) -> (B, 1, 1, 1), one coefficient per image


def f_cosine(u: float) -> float:
    """Nichol & Dhariwal's alpha_bar(u), u in [0, 1]."""
    return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2


# --- the schedule ----------------------------------------------------------------------------

@pytest.mark.parametrize("T", [1000, 37, 2])
def test_linear_schedule_is_the_evenly_spaced_float64_line(pack, T):
    ours = pack.grader.make_betas("linear", T)
    line = torch.tensor([1e-4 + (0.02 - 1e-4) * i / (T - 1) for i in range(T)], dtype=torch.float64)
    assert ours.dtype == torch.float64 and ours.shape == (T,)
    # float64 rounding only: a float32 line is ~1e-9 off, far outside this
    assert torch.allclose(ours, line, rtol=1e-14, atol=1e-18)


@pytest.mark.parametrize("T", [1000, 37, 2])
def test_cosine_schedule_is_nichol_dhariwals_alpha_bar_form(pack, T):
    """Their betas_for_alpha_bar: beta_i = min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), 0.999)."""
    ours = pack.grader.make_betas("cosine", T)
    theirs = torch.tensor([min(1 - f_cosine((i + 1) / T) / f_cosine(i / T), 0.999) for i in range(T)],
                          dtype=torch.float64)
    assert torch.allclose(ours, theirs, rtol=1e-12, atol=0)
    # f(1) = 0: the last beta is always the clipped one, and only it; the betas grow with t
    assert ours[-1] == 0.999 and (ours[:-1] < 0.999).all() and (torch.diff(ours) > 0).all()


def test_cosine_alpha_bar_telescopes_until_the_clip(pack):
    """Unclipped steps telescope: alpha_bar[t] = f((t + 1) / T) / f(0); the clip changes only the last."""
    bar = torch.cumprod(1 - pack.grader.make_betas("cosine", 1000), 0)
    closed = torch.tensor([f_cosine((i + 1) / 1000) / f_cosine(0) for i in range(999)], dtype=torch.float64)
    assert torch.allclose(bar[:-1], closed, rtol=1e-9, atol=1e-15)
    assert bar[-1].item() == pytest.approx(bar[-2].item() * 0.001) and bar[-1] > 1e-10


# --- the ancestral step ----------------------------------------------------------------------

def test_ancestral_mean_is_the_posterior_mean_and_sigma_is_sqrt_beta(pack, ctx):
    """Ho et al.'s eps form of the mean equals q(x_{t-1} | x_t, x0_pred)'s mean; the noise is scaled by
    sqrt(beta_t) where t > 0 and absent where t = 0 (the case's first sample)."""
    c = case(pack, "p_sample_mixed_steps")
    inputs = pack.grader.make_inputs(c, SEED)
    got = pack.grader.expected(c, inputs, ctx)["x_prev"]
    mean = pack.grader.expected(c, {**inputs, "noise": torch.zeros_like(inputs["noise"])}, ctx)["x_prev"]

    betas, t, x, noise = inputs["betas"], inputs["t"], inputs["x"], inputs["noise"]
    bar = torch.cumprod(1 - betas, 0)
    bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), bar])[t]      # alpha_bar[t - 1], 1 at t = 0
    a, b, beta = col(bar[t]), col(bar_prev), col(betas[t])
    with torch.no_grad():
        eps = ctx.driver.build_model(inputs, torch.float64)(x, t)
    x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
    posterior = beta * b.sqrt() / (1 - a) * x0 + (1 - b) * (1 - beta).sqrt() / (1 - a) * x
    assert torch.allclose(mean, posterior, rtol=1e-9, atol=1e-9)
    assert t[0] == 0 and torch.equal(got[0], mean[0])
    assert torch.allclose(got - mean, beta.sqrt() * (t > 0).double()[:, None, None, None] * noise,
                          rtol=1e-9, atol=1e-12)


# --- DDIM ------------------------------------------------------------------------------------

def test_ddim_with_eta_one_and_one_step_is_ddpm_with_the_posterior_variance(pack, ctx):
    """Song et al.'s identity: eta = 1, t_prev = t - 1 gives DDPM's posterior mean and variance."""
    c = case(pack, "ddim_eta_one_to_the_end", stride=1)
    inputs = pack.grader.make_inputs(c, SEED)
    model = ctx.driver.build_model(inputs, torch.float64)
    ddim = pack.grader.answer64("ddim", c.params, inputs, model)["x_prev"]
    betas, t, x, noise = inputs["betas"], inputs["t"], inputs["x"], inputs["noise"]
    bar = torch.cumprod(1 - betas, 0)
    bar_prev = torch.where(t > 0, bar[(t - 1).clamp(min=0)], torch.ones_like(bar[t]))
    with torch.no_grad():
        eps = model(x, t)
    mean = col((1 - betas[t]).rsqrt()) * (x - col(betas[t] / (1 - bar[t]).sqrt()) * eps)
    tilde = betas[t] * (1 - bar_prev) / (1 - bar[t])
    assert torch.allclose(ddim, mean + col(tilde.sqrt()) * noise, atol=1e-10)


def test_ddim_to_the_end_is_the_predicted_x0_whatever_eta(pack, ctx):
    """t_prev = -1 everywhere: alpha_bar_prev = 1, sigma = 0, so the step returns x0_pred itself."""
    c = case(pack, "ddim_eta_one_to_the_end", stride=10_000)
    inputs = pack.grader.make_inputs(c, SEED)
    assert (inputs["t_prev"] == -1).all()
    got = pack.grader.expected(c, inputs, ctx)["x_prev"]
    t, x = inputs["t"], inputs["x"]
    a = col(torch.cumprod(1 - inputs["betas"], 0)[t])
    with torch.no_grad():
        eps = ctx.driver.build_model(inputs, torch.float64)(x, t)
    assert torch.allclose(got, (x - (1 - a).sqrt() * eps) / a.sqrt(), rtol=1e-12, atol=1e-12)


def test_ddim_with_eta_zero_ignores_the_noise(pack, ctx):
    c = case(pack, "ddim_deterministic_eta_zero")
    inputs = pack.grader.make_inputs(c, SEED)
    one = pack.grader.expected(c, inputs, ctx)["x_prev"]
    assert torch.equal(one, pack.grader.expected(c, {**inputs, "noise": -3 * inputs["noise"]}, ctx)["x_prev"])


# --- the loss --------------------------------------------------------------------------------

def test_loss_and_its_gradients_match_finite_differences(pack, ctx):
    c = case(pack, "training_loss_per_sample_steps")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    t, x0, noise = inputs["t"], inputs["x"], inputs["noise"]
    a = col(torch.cumprod(1 - inputs["betas"], 0)[t])
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise                            # q_sample, written again

    def loss_at(key, index, delta) -> float:
        moved = {**inputs, key: inputs[key].clone()}
        moved[key][index] += delta
        with torch.no_grad():
            return float(((ctx.driver.build_model(moved, torch.float64)(x_t, t) - noise) ** 2).mean())

    assert float(want["loss"]) == pytest.approx(loss_at("model.w", 0, 0.0), rel=1e-12)
    h = 1e-6
    # emb rows at both ends of the chain (t = 0 and t = T - 1 are in the batch) and one no sample uses
    unused = next(i for i in range(c.params["T"]) if i not in t.tolist())
    for key, out, index in (("model.w", "grad.w", 1), ("model.emb", "grad.emb", (0, 2)),
                            ("model.emb", "grad.emb", (c.params["T"] - 1, 0)), ("model.emb", "grad.emb", (unused, 1))):
        numeric = (loss_at(key, index, h) - loss_at(key, index, -h)) / (2 * h)
        assert float(want[out][index]) == pytest.approx(numeric, rel=1e-6, abs=1e-9), (key, index)
    assert not want["grad.emb"][unused].any()


def test_every_expected_output_is_finite(pack, ctx):
    for c in pack.check_cases("cpu"):
        want = pack.grader.expected(c, pack.grader.make_inputs(c, SEED), ctx)
        assert all(torch.isfinite(v).all() for v in want.values()), c.name
