# HOSTILE(backprop_mlp, failed, throughput): right on the small check inputs, garbage on the large (benchmark) ones
"""Every timed call's output is checked too, so being fast and wrong on the
benchmark is a failure, not a speed-up."""
import numpy as np


def mlp_loss_and_grads(params, x, y):
    if x.shape[0] >= 256:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    n_layers, n = len(params) // 2, x.shape[0]
    acts, pre, h = [], [], x
    for i in range(1, n_layers + 1):
        acts.append(h)
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        pre.append(z)
        h = np.maximum(z, 0.0) if i < n_layers else z
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    dz = np.exp(log_probs)
    dz[rows, y] -= 1.0
    dz /= n
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        if i > 1:
            dz = (dz @ params[f"W{i}"].T) * (pre[i - 2] > 0)
    return float(-log_probs[rows, y].mean()), grads
