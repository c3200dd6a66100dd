# WRONG(failed): ReLU derivative taken as 1 at exactly 0 (mask z >= 0), wrong where pre-activations are exactly 0
import numpy as np


def mlp_loss_and_grads(params, x, y):
    n_layers = len(params) // 2
    n = x.shape[0]
    hs, zs = [x], []
    for i in range(1, n_layers + 1):
        zs.append(hs[-1] @ params[f"W{i}"] + params[f"b{i}"])
        hs.append(np.maximum(zs[-1], 0.0))
    logits = zs[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = float(-log_p[rows, y].mean())
    g = np.exp(log_p)
    g[rows, y] -= 1.0
    g /= n
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = hs[i - 1].T @ g
        grads[f"b{i}"] = g.sum(axis=0)
        if i > 1:
            g = (g @ params[f"W{i}"].T) * (zs[i - 2] >= 0)
    return loss, grads
