# WRONG(rejected): imports optax, whose Adam is the exercise
"""jax_train_step, known wrong: optax.adam."""

import optax  # noqa: F401


def init_adam(params):
    return optax.adam(1e-2).init(params)
