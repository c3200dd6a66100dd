"""Host-side tests of the layernorm_backward pack: its inputs, and its trusted answer held against
three independent oracles (float64 central finite differences, torch's layer_norm with autograd,
50-digit decimal arithmetic where float64 itself is the question). The check, the driver and the
numerical traps are in test_pack_layernorm_backward_check.py; the sandboxed path: tests/test_packs.py."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
import torch

EXERCISE = "layernorm_backward"
SEED = 5


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def answer64(pack, c, inputs):
    """The grader's float64 answer, before it is rounded to the case's dtype."""
    return pack.grader.answer64(inputs["x"], inputs["gamma"], inputs["beta"], inputs["dy"],
                                float(c.params["eps"]), int(c.params["k"]))


# --- the cases and their inputs ----------------------------------------------------------------


def test_inputs_have_the_contracts_shapes_and_dtypes_and_follow_the_seed(pack):
    for c in pack.cases:
        p = c.params
        inputs = pack.grader.make_inputs(c, 123)
        dtype, shape = np.dtype(p["dtype"]), tuple(p["shape"])
        assert set(inputs) == {"x", "gamma", "beta", "dy"}, c.name
        assert all(type(v) is np.ndarray and v.dtype == dtype and np.isfinite(v).all() for v in inputs.values()), c.name
        assert inputs["x"].shape == inputs["dy"].shape == shape, c.name
        assert inputs["gamma"].shape == inputs["beta"].shape == shape[len(shape) - p["k"]:], c.name
    c = case(pack, "three_trailing_dims")
    a, b, other = (pack.grader.make_inputs(c, s) for s in (5, 5, 6))
    assert all(np.array_equal(a[k], b[k]) for k in a) and not np.array_equal(a["x"], other["x"])


def test_the_cases_are_the_ones_the_readme_names(pack):
    ps = {c.name: c.params for c in pack.check_cases("cpu")}
    assert len(ps) == 11                                                       # "Eleven hidden cases"
    assert {p["k"] for p in ps.values()} == {1, 2, 3}
    assert any(len(p["shape"]) - p["k"] >= 2 for p in ps.values())            # two leading dims
    assert any(all(s == 1 for s in p["shape"][:-p["k"]]) for p in ps.values())  # batch dims of size 1
    assert any(math.prod(p["shape"][len(p["shape"]) - p["k"]:]) == 1 for p in ps.values())   # one element
    assert any(p.get("constant") for p in ps.values())
    assert ps["large_offset_tiny_spread"]["offset"] == 1e6 and ps["huge_values"]["scale"] == 1e6
    assert ps["float32_offset"]["offset"] == 1e3 and ps["float32_offset"]["scale"] == 0.1
    assert {p["dtype"] for p in ps.values()} == {"float64", "float32"}
    bench = [c for c in pack.cases if c.kind == "bench"]
    assert len(bench) == 1 and bench[0].params["shape"] == [256, 1024] and bench[0].params["dtype"] == "float32"


def test_the_offset_case_defeats_the_naive_variance_and_not_two_passes(pack):
    c = case(pack, "large_offset_tiny_spread")
    x = pack.grader.make_inputs(c, SEED)["x"]
    naive = (x * x).mean(axis=1) - x.mean(axis=1) ** 2
    careful = ((x - x.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)
    true = 1e-6   # scale 1e-3, squared
    assert np.all(np.abs(naive - true) >= true)              # the cancellation loses every digit
    assert np.all(np.abs(careful - true) < 0.5 * true)       # the spread is really there


def test_a_float32_mean_is_off_by_about_1e_4_in_the_float32_offset_case(pack):
    # the README's figure: at 1e3 with a spread of 0.1, float32 statistics are not enough
    c = case(pack, "float32_offset")
    x = pack.grader.make_inputs(c, SEED)["x"]                 # float32, (8, 64)
    off = np.abs(x.mean(axis=1, dtype=np.float32) - x.astype(np.float64).mean(axis=1))
    assert 1e-5 < off.max() < 1e-3


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


# --- the answer, against independent oracles ---------------------------------------------------


@pytest.mark.parametrize("name", ["last_dim", "two_trailing_dims", "three_trailing_dims", "two_leading_dims",
                                  "batch_dims_of_one", "one_element_normalised", "constant_groups"])
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


def test_the_oracle_agrees_with_torch_layer_norm_on_every_case(pack):
    for c in pack.check_cases("cpu"):
        if c.name == "large_offset_tiny_spread":
            continue                         # torch's own float64 mean is not exact there: the decimal test
        p = c.params
        i = pack.grader.make_inputs(c, SEED)
        x, g, b = (torch.tensor(i[k].astype(np.float64), requires_grad=True) for k in ("x", "gamma", "beta"))
        y = torch.nn.functional.layer_norm(x, g.shape, g, b, float(p["eps"]))
        y.backward(torch.tensor(i["dy"].astype(np.float64)))
        want = answer64(pack, c, i)
        for key, got in (("y", y), ("dx", x.grad), ("dgamma", g.grad), ("dbeta", b.grad)):
            scale = np.abs(want[key]).max() or 1.0           # torch's dx for one element is ~1e-14, not 0
            np.testing.assert_allclose(want[key], got.detach().numpy(), rtol=1e-9, atol=1e-11 * scale,
                                       err_msg=f"{c.name} {key}")


def decimal_layernorm(x, gamma, beta, dy, eps: float):
    """LayerNorm over the last axis of a 2-D x in 50-digit decimal arithmetic, from the inputs'
    exact binary values: (y, dx, dgamma, dbeta) as float64 arrays."""
    g, b = [Decimal(v) for v in gamma.tolist()], [Decimal(v) for v in beta.tolist()]
    n = len(g)
    y, dx, dgamma, dbeta = [], [], [Decimal(0)] * n, [Decimal(0)] * n
    with localcontext() as dec:
        dec.prec = 50
        for row, drow in zip(x.tolist(), dy.tolist()):
            xs, ds = [Decimal(v) for v in row], [Decimal(v) for v in drow]
            mean = sum(xs) / n
            rstd = 1 / (sum((v - mean) ** 2 for v in xs) / n + Decimal(eps)).sqrt()
            xhat = [(v - mean) * rstd for v in xs]
            dxhat = [d * gi for d, gi in zip(ds, g)]
            m1, m2 = sum(dxhat) / n, sum(a * h for a, h in zip(dxhat, xhat)) / n
            y.append([h * gi + bi for h, gi, bi in zip(xhat, g, b)])
            dx.append([rstd * (a - m1 - h * m2) for a, h in zip(dxhat, xhat)])
            dgamma = [acc + d * h for acc, d, h in zip(dgamma, ds, xhat)]
            dbeta = [acc + d for acc, d in zip(dbeta, ds)]
    return tuple(np.array(v, dtype=float) for v in (y, dx, dgamma, dbeta))


def test_the_oracle_is_exact_under_the_large_offset(pack, ctx):
    # float64 holds 1e6 only to ~1e-10: the oracle's one error is its correctly rounded mean, half
    # an ulp of 1e6 (6e-11), 6e-8 of the 1e-3 spread. Careful candidates' means are a few ulps off,
    # and the offset row (rtol 1e-3) must measure them, not the oracle: it keeps 1000-fold inside.
    c = case(pack, "large_offset_tiny_spread")
    i = pack.grader.make_inputs(c, SEED)
    truth = decimal_layernorm(i["x"], i["gamma"], i["beta"], i["dy"], float(c.params["eps"]))
    ours = answer64(pack, c, i)
    tol = ctx.tolerances[c.params["tolerance"]]
    for key, want in zip(("y", "dx", "dgamma", "dbeta"), truth):
        assert np.abs(ours[key] - want).max() <= 1e-3 * tol.rtol * np.abs(want).max(), key


def test_variance_zero_gives_beta_finite_gradients_and_none_for_one_element(pack, ctx):
    for name in ("one_element_normalised", "constant_groups"):
        c = case(pack, name)
        i = pack.grader.make_inputs(c, SEED)
        want = pack.grader.expected(c, i, ctx)
        assert np.allclose(want["y"], np.broadcast_to(i["beta"], i["x"].shape))
        assert all(np.isfinite(v).all() for v in want.values())
        assert not want["dgamma"].any()                          # xhat = 0 throughout
        assert np.allclose(want["dbeta"], i["dy"].sum(axis=0))
        # a constant group still has a gradient, (dxhat - mean(dxhat)) / sqrt(eps); one element has none
        assert (not want["dx"].any()) == (name == "one_element_normalised")


def test_expected_keeps_the_case_dtype_and_is_finite(pack, ctx):
    for c in pack.check_cases("cpu"):
        i = pack.grader.make_inputs(c, 4)
        want = pack.grader.expected(c, i, ctx)
        assert list(want) == ["y", "dx", "dgamma", "dbeta"], c.name
        assert all(v.dtype == i["x"].dtype and np.isfinite(v).all() for v in want.values()), c.name
