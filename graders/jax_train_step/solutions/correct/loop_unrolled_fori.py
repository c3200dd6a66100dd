"""Correct, written another way: the micro-batches with lax.fori_loop over dynamic slices, the
gradients and losses of one micro-batch from value_and_grad, Adam on a flattened parameter list."""

import jax
import jax.numpy as jnp
from jax import lax

LR, B1, B2, EPS, RATE, N_MICRO = 1e-2, 0.9, 0.999, 1e-8, 0.1, 4
ORDER = ("w1", "b1", "w2", "b2")


def init_adam(params):
    return {"step": jnp.array(0, dtype=jnp.int32),
            "m": {k: jnp.zeros_like(params[k]) for k in ORDER},
            "v": {k: jnp.zeros_like(params[k]) for k in ORDER}}


def objective(params, xb, yb, key):
    hidden = jnp.maximum(jnp.dot(xb, params["w1"]) + params["b1"], 0)
    mask = jax.random.bernoulli(key, p=1 - RATE, shape=hidden.shape)
    hidden = hidden * mask / (1 - RATE)
    logits = jnp.dot(hidden, params["w2"]) + params["b2"]
    nll = jax.nn.logsumexp(logits, axis=-1) - jnp.take_along_axis(logits, yb[:, None], axis=-1)[:, 0]
    return jnp.mean(nll)


@jax.jit
def train_step(params, opt_state, x, y, key):
    new_key, drop = jax.random.split(key)
    rows = x.shape[0] // N_MICRO

    def body(i, acc):
        xb = lax.dynamic_slice_in_dim(x, i * rows, rows)
        yb = lax.dynamic_slice_in_dim(y, i * rows, rows)
        value, grads = jax.value_and_grad(objective)(params, xb, yb, jax.random.fold_in(drop, i))
        return ({k: acc[0][k] + grads[k] for k in ORDER}, acc[1] + value)

    total_grads, total_loss = lax.fori_loop(0, N_MICRO, body, ({k: jnp.zeros_like(params[k]) for k in ORDER}, 0.0))
    t = opt_state["step"] + 1
    tf = t.astype(jnp.float32)
    new_params, new_m, new_v = {}, {}, {}
    for k in ORDER:
        g = total_grads[k] / N_MICRO
        new_m[k] = B1 * opt_state["m"][k] + (1 - B1) * g
        new_v[k] = B2 * opt_state["v"][k] + (1 - B2) * jnp.square(g)
        step_size = LR / (1 - B1 ** tf)
        new_params[k] = params[k] - step_size * new_m[k] / (jnp.sqrt(new_v[k] / (1 - B2 ** tf)) + EPS)
    return new_params, {"step": t, "m": new_m, "v": new_v}, total_loss / N_MICRO, new_key
