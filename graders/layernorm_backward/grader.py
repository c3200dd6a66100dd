"""Host side of layernorm_backward: inputs, the trusted answer, the check.

The answer is our own float64 closed form on centred values (the mean correctly rounded
and subtracted first, so a 1e8 offset costs nothing), rounded once to the case's
dtype. tests/test_pack_layernorm_backward.py checks this closed form against central finite
differences, so the oracle is not taken on trust either.
"""

from __future__ import annotations

from typing import Any

import math

import numpy as np

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

OUTPUTS = ("y", "dx", "dgamma", "dbeta")


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """params: shape (the whole x), k (how many trailing dims are normalised), dtype, eps,
    offset and scale (x = offset + scale * N(0, 1): a large offset with a tiny spread is
    where E[x^2] - E[x]^2 loses every digit), constant (every normalised group constant).

    A constant group holds one multiple of 1/4 (a few units at most): every partial sum is exact, so
    its mean is the value and its variance exactly 0 in any summation order. With a value like 0.1
    a running sum can round off n * value and leave var ~1e-33, which hides a `var == 0` guard."""
    p = case.params
    rng = np.random.default_rng(seed)
    dtype = np.dtype(p["dtype"])
    shape = tuple(int(s) for s in p["shape"])
    norm = shape[len(shape) - int(p["k"]):]
    lead = shape[:len(shape) - int(p["k"])]
    if p.get("constant"):   # one value per normalised group, a multiple of 1/4: variance exactly 0
        value = np.round(4 * rng.standard_normal(lead)) / 4
        z = np.broadcast_to(value.reshape(lead + (1,) * len(norm)), shape).copy()
    else:
        z = rng.standard_normal(shape)
    x = float(p.get("offset", 0.0)) + float(p.get("scale", 1.0)) * z
    return {"x": x.astype(dtype), "gamma": (1 + 0.5 * rng.standard_normal(norm)).astype(dtype),
            "beta": rng.standard_normal(norm).astype(dtype), "dy": rng.standard_normal(shape).astype(dtype)}


def answer64(x, gamma, beta, dy, eps: float, k: int) -> dict[str, np.ndarray]:
    """The closed form, in float64 on the case's rounded inputs."""
    x, gamma, beta, dy = (np.asarray(a, dtype=np.float64) for a in (x, gamma, beta, dy))
    axes = tuple(range(x.ndim - k, x.ndim))
    lead = tuple(range(x.ndim - k))
    n = int(np.prod([x.shape[a] for a in axes]))
    # the mean correctly rounded (math.fsum per group): a plain float64 mean of values near 1e8
    # is off by ~1e-7, which is 1e-4 of a 1e-3 spread, and the oracle must be better than that
    groups = x.reshape(-1, n)
    mean = np.array([math.fsum(row) / n for row in groups]).reshape(x.shape[:x.ndim - k] + (1,) * k)
    centred = x - mean
    var = (centred ** 2).mean(axis=axes, keepdims=True)      # biased (divide by n)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = centred * inv
    y = xhat * gamma + beta
    dxhat = dy * gamma
    dx = inv / n * (n * dxhat - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return {"y": y, "dx": dx, "dgamma": (dy * xhat).sum(axis=lead), "dbeta": dy.sum(axis=lead)}


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    want = answer64(inputs["x"], inputs["gamma"], inputs["beta"], inputs["dy"], float(p["eps"]), int(p["k"]))
    return {k: v.astype(inputs["x"].dtype) for k, v in want.items()}


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    tol = ctx.tolerances[case.params.get("tolerance", case.params["dtype"])]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in OUTPUTS:
        result = result & compare_arrays(key, outputs[key], want[key], tol.atol, tol.rtol, expect_type=np.ndarray)
    return result
