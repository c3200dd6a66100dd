# WRONG(failed): off-by-one in the cache: dW_i uses layer i-1's pre-ReLU z instead of its activation relu(z)
import numpy as np


def mlp_loss_and_grads(params, x, y):
    n_layers = len(params) // 2
    n = x.shape[0]
    h, zs = x, []
    for i in range(1, n_layers + 1):
        zs.append(h @ params[f"W{i}"] + params[f"b{i}"])
        h = np.maximum(zs[-1], 0.0)
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
        layer_input = x if i == 1 else zs[i - 2]   # should be relu(zs[i - 2])
        grads[f"W{i}"] = layer_input.T @ g
        grads[f"b{i}"] = g.sum(axis=0)
        if i > 1:
            g = (g @ params[f"W{i}"].T) * (zs[i - 2] > 0)
    return loss, grads
