"""Correct, one sample at a time: backprop each sample, then average the gradients.

Slow but obviously right; a different summation order from the reference.
"""

import math

import numpy as np


def mlp_loss_and_grads(params, x, y):
    n_layers = len(params) // 2
    n = x.shape[0]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    total = 0.0
    for s in range(n):
        acts = [x[s]]                           # layer inputs, each (d_{i-1},)
        zs = []
        for i in range(1, n_layers + 1):
            z = acts[-1] @ params[f"W{i}"] + params[f"b{i}"]   # (d_{i-1},) @ (d_{i-1}, d_i) -> (d_i,)
            zs.append(z)
            if i < n_layers:
                acts.append(np.where(z > 0, z, 0.0))
        logits = zs[-1]
        m = max(logits)
        lse = m + math.log(sum(math.exp(v - m) for v in logits))
        label = int(y[s])
        total += lse - logits[label]

        g = np.exp(logits - lse)                # softmax, (C,)
        g[label] -= 1.0
        for i in range(n_layers, 0, -1):
            grads[f"W{i}"] += np.outer(acts[i - 1], g) / n
            grads[f"b{i}"] += g / n
            if i > 1:
                upstream = params[f"W{i}"] @ g  # (d_{i-1}, d_i) @ (d_i,) -> (d_{i-1},)
                g = np.array([u if z > 0 else 0.0 for u, z in zip(upstream, zs[i - 2])])
    return total / n, grads
