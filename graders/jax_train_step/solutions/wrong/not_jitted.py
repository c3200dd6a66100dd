# WRONG(failed): leaves train_step a plain Python function (every call traces and runs op by op)
"""jax_train_step, known wrong: leaves train_step a plain Python function (every call traces and runs op by op)."""

import jax
import jax.numpy as jnp

LR, B1, B2, EPS, RATE, MICRO = 1e-2, 0.9, 0.999, 1e-8, 0.1, 4


def init_adam(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return {"step": jnp.zeros((), jnp.int32), "m": zeros, "v": zeros}


def loss_fn(params, x, y, key):
    h = jax.nn.relu(x @ params["w1"] + params["b1"])                       # (mb, H)
    keep = jax.random.bernoulli(key, 1.0 - RATE, h.shape)
    h = jnp.where(keep, h / (1.0 - RATE), 0.0)
    logits = h @ params["w2"] + params["b2"]                               # (mb, C)
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def train_step(params, opt_state, x, y, key):
    key, dropout_key = jax.random.split(key)
    xs = x.reshape(MICRO, -1, x.shape[-1])
    ys = y.reshape(MICRO, -1)

    def micro(carry, inputs):
        grads, total = carry
        i, xb, yb = inputs
        loss, g = jax.value_and_grad(loss_fn)(params, xb, yb, jax.random.fold_in(dropout_key, i))
        return (jax.tree_util.tree_map(jnp.add, grads, g), total + loss), None

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    (grads, total), _ = jax.lax.scan(micro, (zeros, jnp.zeros(())), (jnp.arange(MICRO), xs, ys))
    grads = jax.tree_util.tree_map(lambda g: g / MICRO, grads)
    step = opt_state["step"] + 1
    m = jax.tree_util.tree_map(lambda m, g: B1 * m + (1 - B1) * g, opt_state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: B2 * v + (1 - B2) * g * g, opt_state["v"], grads)
    t = step.astype(jnp.float32)
    new_params = jax.tree_util.tree_map(
        lambda p, m, v: p - LR * (m / (1 - B1 ** t)) / (jnp.sqrt(v / (1 - B2 ** t)) + EPS), params, m, v)
    return new_params, {"step": step, "m": m, "v": v}, total / MICRO, key
