# WRONG(failed): calls sys.exit(0) while being imported, hoping a clean exit reads as success
"""Hostile: sys.exit at import. SystemExit is caught like any exception."""
import sys

import numpy as np


def mlp_loss_and_grads(params, x, y):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}


sys.exit(0)
