"""Host side of jax_train_step: inputs, the trusted answer, and the checks.

The answer is computed here in JAX float32 another way than the reference: the micro-batches in
a Python loop (no scan, no jit), each gradient by jax.grad of the README's loss, Adam written
out per leaf. The dropout masks can only come from jax.random, so the host needs JAX too
(the [jax] extra). Compilations: a step with the same shapes must compile once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

NAMES = ("w1", "b1", "w2", "b2")
LR, B1, B2, EPS, RATE, MICRO = 1e-2, 0.9, 0.999, 1e-8, 0.1, 4


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    p = case.params
    rng = np.random.default_rng(seed)
    d, h, c, batch, steps = (int(p[k]) for k in ("D", "H", "C", "batch", "steps"))
    return {"w1": (rng.standard_normal((d, h)) / np.sqrt(d)).astype(np.float32),
            "b1": (rng.standard_normal(h) * 0.1).astype(np.float32),
            "w2": (rng.standard_normal((h, c)) / np.sqrt(h)).astype(np.float32),
            "b2": np.zeros(c, dtype=np.float32),
            "x": rng.standard_normal((steps, batch, d)).astype(np.float32),
            "y": rng.integers(0, c, size=(steps, batch)).astype(np.int32),
            "key_seed": np.array([int(rng.integers(0, 2 ** 31))], dtype=np.int64)}


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    def loss(params, x, y, key):
        hid = jnp.maximum(x @ params["w1"] + params["b1"], 0.0)
        keep = jax.random.bernoulli(key, 1.0 - RATE, hid.shape)
        hid = jnp.where(keep, hid / (1.0 - RATE), 0.0)
        logits = hid @ params["w2"] + params["b2"]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])

    params = {k: jnp.asarray(inputs[k]) for k in NAMES}
    m = {k: jnp.zeros_like(v) for k, v in params.items()}
    v = {k: jnp.zeros_like(val) for k, val in params.items()}
    key = jax.random.PRNGKey(int(inputs["key_seed"][0]))
    want: dict[str, Any] = {}
    losses = []
    for t in range(int(case.params["steps"])):
        key, dropout_key = jax.random.split(key)
        xs = np.split(inputs["x"][t], MICRO)
        ys = np.split(inputs["y"][t], MICRO)
        grads = {k: jnp.zeros_like(val) for k, val in params.items()}
        total = 0.0
        for i in range(MICRO):
            sub = jax.random.fold_in(dropout_key, i)
            value, g = jax.value_and_grad(loss)(params, jnp.asarray(xs[i]), jnp.asarray(ys[i]), sub)
            grads = {k: grads[k] + g[k] for k in NAMES}
            total += float(value)
        losses.append(total / MICRO)
        for k in NAMES:
            g = grads[k] / MICRO
            m[k] = B1 * m[k] + (1 - B1) * g
            v[k] = B2 * v[k] + (1 - B2) * g * g
            mhat, vhat = m[k] / (1 - B1 ** (t + 1)), v[k] / (1 - B2 ** (t + 1))
            params[k] = params[k] - LR * mhat / (jnp.sqrt(vhat) + EPS)
            want[f"{k}.{t}"] = np.asarray(params[k], dtype=np.float32)
    want["losses"] = np.array(losses, dtype=np.float64)
    want["compilations"] = np.array([1], dtype=np.int64)
    return want


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    tol = ctx.tolerances["float32"]
    result = compare_arrays("losses", outputs["losses"], want["losses"], tol.atol, tol.rtol, expect_type=np.ndarray)
    for t in range(int(case.params["steps"])):
        for k in NAMES:
            result = result & compare_arrays(f"{k} after step {t + 1}", outputs[f"{k}.{t}"], want[f"{k}.{t}"],
                                             tol.atol, tol.rtol, expect_type=np.ndarray)
    if not result.ok:
        return result
    compiled = outputs["compilations"]
    if type(compiled) is not np.ndarray or compiled.dtype != np.int64 or compiled.shape != (1,):
        return Check(False, "compilations: expected one int64 count")
    if int(compiled[0]) > 1:   # 0 when an earlier case already compiled these shapes
        return Check(False, f"train_step was compiled {int(compiled[0])} times for {case.params['steps']} calls with "
                            "the same shapes and dtypes (once is right: nothing that changes per call may be static)")
    return result
