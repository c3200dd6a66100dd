"""Host-side tests of the jax_train_step pack: the trusted answer against an independent numpy
backward pass, the compilation count, the check. The sandboxed path is tests/test_packs.py."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="the jax_train_step pack needs pip install 'dlverify[jax]'")
import jax.numpy as jnp  # noqa: E402

from dlverify.packs import registry  # noqa: E402
from dlverify.packs.loading import load_pack  # noqa: E402

SEED = 4


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("jax_train_step"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def test_the_first_step_matches_a_numpy_backward_pass(pack, ctx):
    """One Adam step from zero moments is p - lr * g / (|g| + eps'): check g by hand in float64."""
    c = pack.cases[0]
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    key, dropout_key = jax.random.split(jax.random.PRNGKey(int(inputs["key_seed"][0])))
    w1, b1, w2, b2 = (inputs[k].astype(np.float64) for k in ("w1", "b1", "w2", "b2"))
    grads = {k: 0.0 for k in ("w1", "b1", "w2", "b2")}
    for i, (xb, yb) in enumerate(zip(np.split(inputs["x"][0], 4), np.split(inputs["y"][0], 4))):
        xb = xb.astype(np.float64)
        pre = xb @ w1 + b1
        keep = np.asarray(jax.random.bernoulli(jax.random.fold_in(dropout_key, i), 0.9, pre.shape))
        h = np.where(keep, np.maximum(pre, 0) / 0.9, 0.0)
        logits = h @ w2 + b2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dlogits = (p - np.eye(p.shape[1])[yb]) / len(yb)
        dh = dlogits @ w2.T
        dpre = np.where(keep & (pre > 0), dh / 0.9, 0.0)
        for k, g in (("w2", h.T @ dlogits), ("b2", dlogits.sum(0)), ("w1", xb.T @ dpre), ("b1", dpre.sum(0))):
            grads[k] = grads[k] + g / 4
    for k, p0 in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)):
        g = grads[k]
        by_hand = p0 - 1e-2 * g / (np.abs(g) + 1e-8)      # t = 1: mhat = g, sqrt(vhat) = |g|
        assert np.allclose(want[f"{k}.0"], by_hand, atol=2e-5), k


def test_the_reference_compiles_once_and_a_dtype_change_compiles_twice(pack, ctx):
    c = pack.cases[2]
    inputs = pack.grader.make_inputs(c, SEED)
    out = ctx.driver.run(ctx.reference, c.params, inputs, "cpu")
    assert int(out["compilations"][0]) == 1
    assert pack.grader.check(c, inputs, out, pack.grader.expected(c, inputs, ctx), ctx).ok
    bad = dict(out, compilations=np.array([c.params["steps"]], dtype=np.int64))
    result = pack.grader.check(c, inputs, bad, pack.grader.expected(c, inputs, ctx), ctx)
    assert not result.ok and "compiled" in result.message


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = pack.cases[2]
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for outputs in ({}, 7, {**want, "losses": want["losses"].astype(np.float32)},
                    {**want, "compilations": np.array([1.0])}, {**want, "w1.0": want["w1.0"][:1]}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message


def test_the_step_must_be_jitted(pack, ctx):
    import types

    from contract import ContractError  # loaded by the pack's context

    c = pack.cases[0]
    plain = types.SimpleNamespace(init_adam=ctx.reference.init_adam, train_step=ctx.reference.train_step.__wrapped__)
    with pytest.raises(ContractError, match="jax.jit"):
        ctx.driver.run(plain, c.params, pack.grader.make_inputs(c, SEED), "cpu")
    assert jnp.zeros(1).dtype == jnp.float32
