# HOSTILE(backprop_mlp, failed, throughput): computes once per input shape and hands the cached answer to every later call of that shape
"""Every timed call gets inputs of its own, and every output is checked: a
cached answer is a wrong answer."""
import numpy as np

_cache = {}


def _compute(params, x, y):
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


def mlp_loss_and_grads(params, x, y):
    key = (x.shape, tuple(v.shape for v in params.values()))
    if key not in _cache:
        _cache[key] = _compute(params, x, y)
    return _cache[key]
