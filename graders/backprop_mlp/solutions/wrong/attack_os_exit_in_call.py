# WRONG(crashed): correct on small batches, os._exit(0) on the others: the cases it skips must not count as passed
"""Hostile: os._exit inside the call, only on the cases it cannot do. The
process ends with exit code 0 and sends nothing more; those cases are
crashes, never "not run"."""
import os

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _honest(params, x, y):
    """A correct answer, used only if the attack got through (so a breach shows up as a pass)."""
    n_layers, n = len(params) // 2, x.shape[0]
    acts, pre, h = [], [], x
    for i in range(1, n_layers + 1):
        acts.append(h)
        z = h @ params[f"W{i}"] + params[f"b{i}"]                 # (N, d_{i-1}) @ (d_{i-1}, d_i)
        pre.append(z)
        h = np.maximum(z, 0.0) if i < n_layers else z
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = float(-log_probs[rows, y].mean())
    dz = np.exp(log_probs)
    dz[rows, y] -= 1.0
    dz /= n
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        if i > 1:
            dz = (dz @ params[f"W{i}"].T) * (pre[i - 2] > 0)
    return loss, grads


def _garbage(params):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    if x.shape[0] > 6:
        os._exit(0)
    return _honest(params, x, y)
