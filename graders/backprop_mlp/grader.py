"""Host-side grader for backprop_mlp: inputs, the trusted answer, and the check.

Inputs cross the boundary as one flat .npz (io = "numpy"), so the parameter
dict is flattened to keys W1, b1, ..., WL, bL next to x and y; the driver
rebuilds it. Outputs come back flat too: "loss" (0-d float64) and "grad_W1",
"grad_b1", ... The trusted answer is computed here with our own float64 code,
independent of reference.py, so the reference is checked like any submission.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.loading import GraderContext


def param_keys(n_layers: int) -> list[str]:
    return [k for i in range(1, n_layers + 1) for k in (f"W{i}", f"b{i}")]


def output_keys(n_layers: int) -> list[str]:
    return ["loss"] + [f"grad_{k}" for k in param_keys(n_layers)]


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """Random weights, plus the case's traps.

    Case params: widths [d_0, ..., d_L], N, and optionally
      zero_units   a hidden layer's units whose weight column and bias are 0,
                   so their pre-activation is exactly 0 for every sample;
      zero_rows    samples of x that are all 0 with b1 = 0, so every first-layer
                   pre-activation of those samples is exactly 0;
      logit_scale  rescale the last layer so the logits' std is this (1e4:
                   exp overflows unless the log-sum-exp is shifted);
      labels       "random" (default) or "same" (every sample the same class);
      tolerance    the cases.toml tolerance row check() uses (default "float64").
    """
    p = case.params
    widths = [int(w) for w in p["widths"]]
    n = int(p["N"])
    n_layers = len(widths) - 1
    rng = np.random.default_rng(seed)

    inputs: dict[str, Any] = {}
    for i in range(1, n_layers + 1):
        fan_in, fan_out = widths[i - 1], widths[i]
        inputs[f"W{i}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        inputs[f"b{i}"] = rng.standard_normal(fan_out) * 0.1
    x = rng.standard_normal((n, widths[0]))

    if p.get("zero_units") and n_layers > 1:
        # About a third of each hidden layer's units (at least one) are dead at exactly 0.
        for i in range(1, n_layers):
            k = max(1, widths[i] // 3)
            units = rng.choice(widths[i], size=k, replace=False)
            inputs[f"W{i}"][:, units] = 0.0
            inputs[f"b{i}"][units] = 0.0
    if p.get("zero_rows"):
        k = max(1, n // 3)
        rows = rng.choice(n, size=k, replace=False)
        x[rows] = 0.0
        inputs["b1"][:] = 0.0

    scale = p.get("logit_scale")
    if scale:
        logits = _forward(inputs, x, n_layers)[-1]
        factor = float(scale) / max(float(logits.std()), 1e-12)
        inputs[f"W{n_layers}"] *= factor
        inputs[f"b{n_layers}"] *= factor

    n_classes = widths[-1]
    if p.get("labels", "random") == "same":
        y = np.full(n, rng.integers(n_classes), dtype=np.int64)
    else:
        y = rng.integers(n_classes, size=n, dtype=np.int64)
    inputs["x"] = x
    inputs["y"] = y
    return inputs


def _forward(inputs: dict[str, Any], x: np.ndarray, n_layers: int) -> list[np.ndarray]:
    """Pre-activations z_1..z_L; the last one is the logits."""
    zs = []
    h = x
    for i in range(1, n_layers + 1):
        z = h @ inputs[f"W{i}"] + inputs[f"b{i}"]  # (N, d_{i-1}) @ (d_{i-1}, d_i) -> (N, d_i)
        zs.append(z)
        h = np.maximum(z, 0.0)
    return zs


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    n_layers = len(case.params["widths"]) - 1
    x, y = inputs["x"], inputs["y"]
    n = x.shape[0]
    zs = _forward(inputs, x, n_layers)
    logits = zs[-1]                                               # (N, C)
    top = logits.max(axis=1, keepdims=True)
    log_z = top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    log_p = logits - log_z                                        # (N, C)
    rows = np.arange(n)
    want = {"loss": np.array(-log_p[rows, y].mean(), dtype=np.float64)}

    g = np.exp(log_p)
    g[rows, y] -= 1.0
    g /= n                                                        # dL/dz_L, (N, C)
    for i in range(n_layers, 0, -1):
        h_prev = x if i == 1 else np.maximum(zs[i - 2], 0.0)      # (N, d_{i-1})
        want[f"grad_W{i}"] = h_prev.T @ g                         # (d_{i-1}, d_i)
        want[f"grad_b{i}"] = g.sum(axis=0)                        # (d_i,)
        if i > 1:
            g = (g @ inputs[f"W{i}"].T) * (zs[i - 2] > 0.0)       # ReLU'(0) = 0
    return {k: want[k] for k in output_keys(n_layers)}


def check(
    case: Case, inputs: dict[str, Any], outputs: dict[str, Any], want: dict[str, Any], ctx: GraderContext
) -> Check:
    # The driver may have been tampered with: trust nothing about `outputs` unchecked.
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    tol = ctx.tolerances[case.params.get("tolerance", "float64")]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in output_keys(len(case.params["widths"]) - 1):
        result = result & compare_arrays(key, outputs[key], want[key], tol.atol, tol.rtol,
                                         expect_type=np.ndarray)
    return result
