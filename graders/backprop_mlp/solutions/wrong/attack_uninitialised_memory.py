# WRONG(failed): returns np.empty buffers (uninitialised memory) and hopes an earlier answer is still in them
"""Hostile: uninitialised memory. The reference never runs in the sandbox, so
no right answer lies in freed memory to be picked up."""
import numpy as np


def mlp_loss_and_grads(params, x, y):
    scratch = [np.empty_like(v) for v in params.values()]  # churn the allocator first
    del scratch
    return float(np.empty(()).item()), {k: np.empty_like(v) for k, v in params.items()}
