# WRONG(crashed): os._exit(0) while being imported: the process vanishes with a clean exit code and no result
"""Hostile: os._exit at import. No exception to catch: the process is gone."""
import os

import numpy as np


def mlp_loss_and_grads(params, x, y):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}


os._exit(0)
