"""Host-side tests of the diffusion pack: the trusted formulas checked against identities they
must satisfy, the inputs, and the check. The sandboxed path is tests/test_packs.py."""

from __future__ import annotations

import math

import pytest
import torch

from dlverify.packs import registry
from dlverify.packs.loading import load_pack

SEED = 7


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("diffusion"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def test_schedules_match_their_papers(pack):
    g = pack.grader
    linear = g.make_betas("linear", 1000)
    assert linear[0].item() == pytest.approx(1e-4) and linear[-1].item() == pytest.approx(0.02)
    cosine = g.make_betas("cosine", 1000)
    bar = torch.cumprod(1 - cosine, 0)
    f = lambda u: math.cos((u / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2   # noqa: E731
    # unclipped steps telescope: alpha_bar[t] = f(t + 1) / f(0)
    assert bar[500].item() == pytest.approx(f(501) / f(0), rel=1e-12)
    assert cosine.max().item() == 0.999 and (cosine[:-1] < 0.999).sum() > 900


def _inputs(pack, name, **changes):
    c = case(pack, name)
    c = type(c)(**{**c.__dict__, "params": {**c.params, **changes}})
    return c, pack.grader.make_inputs(c, SEED)


def test_ddim_with_eta_one_and_one_step_is_ddpm_with_the_posterior_variance(pack, ctx):
    """Song et al.'s identity: eta = 1, t_prev = t - 1 gives DDPM's posterior mean and variance."""
    c, inputs = _inputs(pack, "ddim_eta_one_to_the_end", stride=1)
    model = ctx.driver.build_model(inputs, torch.float64)
    ddim = pack.grader.answer64("ddim", c.params, inputs, model)["x_prev"]
    betas, t, x, noise = inputs["betas"], inputs["t"], inputs["x"], inputs["noise"]
    bar = torch.cumprod(1 - betas, 0)
    bar_prev = torch.where(t > 0, bar[(t - 1).clamp(min=0)], torch.ones_like(bar[t]))
    b = lambda v: v[:, None, None, None]   # noqa: E731
    with torch.no_grad():
        eps = model(x, t)
    mean = b((1 - betas[t]).rsqrt()) * (x - b(betas[t] / (1 - bar[t]).sqrt()) * eps)
    tilde = betas[t] * (1 - bar_prev) / (1 - bar[t])
    assert torch.allclose(ddim, mean + b(tilde.sqrt()) * noise, atol=1e-10)


def test_the_last_ancestral_step_ignores_the_noise(pack, ctx):
    c, inputs = _inputs(pack, "p_sample_at_step_zero")
    first = pack.grader.expected(c, inputs, ctx)["x_prev"]
    inputs["noise"] = inputs["noise"] * 3 + 1
    assert torch.equal(first, pack.grader.expected(c, inputs, ctx)["x_prev"])


def test_mixed_cases_hold_both_ends_of_the_chain(pack):
    for name in ("q_sample_mixed_steps", "training_loss_per_sample_steps", "p_sample_mixed_steps"):
        c, inputs = _inputs(pack, name)
        assert inputs["t"].min() == 0 and inputs["t"].max() == c.params["T"] - 1
    c, inputs = _inputs(pack, "ddim_eta_one_to_the_end")
    assert (inputs["t_prev"] == -1).any() and (inputs["t_prev"] >= 0).any()


def test_the_reference_passes_in_process_and_a_nudge_fails(pack, ctx):
    c, inputs = _inputs(pack, "training_loss_per_sample_steps")
    want = pack.grader.expected(c, inputs, ctx)
    got = ctx.driver.run(ctx.reference, c.params, inputs, "cpu")
    assert pack.grader.check(c, inputs, got, want, ctx).ok
    got["grad.emb"] = got["grad.emb"] + 1e-7
    assert not pack.grader.check(c, inputs, got, want, ctx).ok


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c, inputs = _inputs(pack, "q_sample_mixed_steps")
    want = pack.grader.expected(c, inputs, ctx)
    for outputs in ({}, [1], {"x_t": want["x_t"].float()}, {"x_t": want["x_t"].numpy()}, {"x_t": want["x_t"][:1]}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message
