"""Host-side tests of the layernorm_backward pack: the oracle against finite differences and
torch, the numerics cases do what they claim, and the check. Sandboxed path: tests/test_packs.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlverify.packs import registry
from dlverify.packs.loading import load_pack

SEED = 5


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("layernorm_backward"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


@pytest.mark.parametrize("name", ["last_dim", "two_trailing_dims", "three_trailing_dims", "two_leading_dims"])
def test_the_closed_form_matches_central_finite_differences(pack, name):
    c = case(pack, name)
    i = pack.grader.make_inputs(c, SEED)
    eps, k = float(c.params["eps"]), int(c.params["k"])
    want = pack.grader.answer64(i["x"], i["gamma"], i["beta"], i["dy"], eps, k)

    def loss(x, gamma, beta):
        return float((pack.grader.answer64(x, gamma, beta, i["dy"], eps, k)["y"] * i["dy"]).sum())

    h = 1e-6
    for name_, key in (("x", "dx"), ("gamma", "dgamma"), ("beta", "dbeta")):
        arrays = {"x": i["x"].copy(), "gamma": i["gamma"].copy(), "beta": i["beta"].copy()}
        flat = arrays[name_].reshape(-1)
        for j in np.random.default_rng(0).choice(flat.size, size=min(6, flat.size), replace=False):
            old = flat[j]
            flat[j] = old + h
            up = loss(**arrays)
            flat[j] = old - h
            down = loss(**arrays)
            flat[j] = old
            assert (up - down) / (2 * h) == pytest.approx(want[key].reshape(-1)[j], rel=1e-5, abs=1e-6)


def test_the_oracle_agrees_with_torch_layer_norm(pack):
    c = case(pack, "three_trailing_dims")
    i = pack.grader.make_inputs(c, SEED)
    want = pack.grader.answer64(i["x"], i["gamma"], i["beta"], i["dy"], float(c.params["eps"]), 3)
    x, g, b = (torch.tensor(a, requires_grad=True) for a in (i["x"], i["gamma"], i["beta"]))
    y = torch.nn.functional.layer_norm(x, g.shape, g, b, float(c.params["eps"]))
    y.backward(torch.tensor(i["dy"]))
    for key, got in (("y", y), ("dx", x.grad), ("dgamma", g.grad), ("dbeta", b.grad)):
        assert np.allclose(want[key], got.detach().numpy(), atol=1e-10), key


def test_the_offset_case_defeats_the_naive_variance_and_not_two_passes(pack):
    c = case(pack, "large_offset_tiny_spread")
    x = pack.grader.make_inputs(c, SEED)["x"]
    naive = (x * x).mean(axis=1) - x.mean(axis=1) ** 2
    careful = ((x - x.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)
    true = 1e-6   # scale 1e-3, squared
    assert np.all(np.abs(naive - true) >= true)              # the cancellation loses every digit
    assert np.all(np.abs(careful - true) < 0.5 * true)       # the spread is really there


def test_variance_zero_gives_beta_finite_gradients_and_none_for_one_element(pack, ctx):
    for name in ("one_element_normalised", "constant_groups"):
        c = case(pack, name)
        i = pack.grader.make_inputs(c, SEED)
        want = pack.grader.expected(c, i, ctx)
        assert np.allclose(want["y"], np.broadcast_to(i["beta"], i["x"].shape))
        assert all(np.isfinite(v).all() for v in want.values())
        # a constant group still has a gradient, (dxhat - mean(dxhat)) / sqrt(eps); one element has none
        assert (not want["dx"].any()) == (name == "one_element_normalised")


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = case(pack, "last_dim")
    i = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, i, ctx)
    for outputs in ({}, 3, {**want, "dx": want["dx"].astype(np.float32)}, {**want, "dgamma": want["dgamma"].tolist()},
                    {**want, "y": want["y"][:1]}):
        result = pack.grader.check(c, i, outputs, want, ctx)
        assert not result.ok and result.message


def test_constant_groups_have_variance_zero_whatever_the_summation_order(pack):
    # A guard such as rstd = where(var > 0, ..., 0) zeroes a constant group's dx (it should be
    # (dxhat - mean(dxhat)) / sqrt(eps)). It shows only if the candidate's var is exactly 0: with a
    # value like 0.1 a running sum can round off n * value, leave var ~1e-33 and hide the guard.
    c = case(pack, "constant_groups")
    for seed in range(20):
        groups = pack.grader.make_inputs(c, seed)["x"].reshape(-1, c.params["shape"][-1])   # (G, n)
        running = np.zeros(groups.shape[0])
        for column in groups.T:                                # left to right, one rounding a step
            running = running + column
        assert np.array_equal(running / groups.shape[1], groups[:, 0]), seed
