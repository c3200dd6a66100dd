# WRONG(failed): stable softmax but loss = -log(p + 1e-12): at 1e4 logits p underflows to 0 and the loss is capped at ~27.6
import numpy as np


def mlp_loss_and_grads(params, x, y):
    n_layers = len(params) // 2
    n = x.shape[0]
    hs, zs = [x], []
    for i in range(1, n_layers + 1):
        zs.append(hs[-1] @ params[f"W{i}"] + params[f"b{i}"])
        hs.append(np.maximum(zs[-1], 0.0))
    logits = zs[-1]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(-np.log(p[rows, y] + 1e-12).mean())
    g = p.copy()
    g[rows, y] -= 1.0
    g /= n
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = hs[i - 1].T @ g
        grads[f"b{i}"] = g.sum(axis=0)
        if i > 1:
            g = (g @ params[f"W{i}"].T) * (zs[i - 2] > 0)
    return loss, grads
