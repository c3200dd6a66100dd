"""Child side of jax_train_step: several calls of the candidate's jitted train_step from the
case's initial parameters, data and key; hands back the parameters after each step, the losses,
and how many times the step was compiled. The host re-runs everything and compares."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from contract import ContractError  # sandbox/contract.py: on the child's path

NAMES = ("w1", "b1", "w2", "b2")


def run(module: Any, params: dict, inputs: dict, device: str) -> dict[str, Any]:
    init, step = getattr(module, "init_adam", None), getattr(module, "train_step", None)
    if not callable(init) or not callable(step):
        raise ContractError("the submission must define init_adam and train_step")
    cache_size = getattr(step, "_cache_size", None)
    if not callable(cache_size):
        raise ContractError("train_step must be a jax.jit-compiled function (decorate it with @jax.jit)")
    before = int(cache_size())   # earlier cases of this grading compiled their own shapes
    p = {k: jnp.asarray(inputs[k]) for k in NAMES}
    opt = init(p)
    key = jax.random.PRNGKey(int(inputs["key_seed"][0]))   # a raw uint32 key, as jax.random.split returns
    out: dict[str, Any] = {}
    losses = []
    for t in range(int(params["steps"])):
        result = step(p, opt, jnp.asarray(inputs["x"][t]), jnp.asarray(inputs["y"][t]), key)
        if not isinstance(result, tuple) or len(result) != 4:
            raise ContractError("train_step must return (params, opt_state, loss, key)")
        p, opt, loss, key = result
        if not isinstance(p, dict) or set(p) != set(NAMES):
            raise ContractError(f"train_step must return the parameters as a dict with keys {', '.join(NAMES)}")
        losses.append(float(loss))
        for k in NAMES:
            out[f"{k}.{t}"] = np.asarray(p[k], dtype=np.float32)
    out["losses"] = np.array(losses, dtype=np.float64)
    out["compilations"] = np.array([int(cache_size()) - before], dtype=np.int64)
    return out
