# WRONG(crashed): dereferences a null pointer through ctypes inside the call: SIGSEGV
"""Hostile: a segfault in the middle of a call. The grader reports it as a
crash of that case and goes on with the others."""
import ctypes

import numpy as np


def mlp_loss_and_grads(params, x, y):
    ctypes.string_at(0)
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
