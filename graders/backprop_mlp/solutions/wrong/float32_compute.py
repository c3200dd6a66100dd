# WRONG(failed): everything computed in float32 and cast back to float64: ~1e-7 relative error, outside the float64 tolerance
import numpy as np


def mlp_loss_and_grads(params, x, y):
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    x = x.astype(np.float32)
    n_layers = len(params) // 2
    n = x.shape[0]
    hs, zs = [x], []
    for i in range(1, n_layers + 1):
        zs.append(hs[-1] @ p32[f"W{i}"] + p32[f"b{i}"])
        hs.append(np.maximum(zs[-1], np.float32(0.0)))
    logits = zs[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = float(-log_p[rows, y].mean())
    g = np.exp(log_p)
    g[rows, y] -= np.float32(1.0)
    g /= np.float32(n)
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = (hs[i - 1].T @ g).astype(np.float64)
        grads[f"b{i}"] = g.sum(axis=0).astype(np.float64)
        if i > 1:
            g = (g @ p32[f"W{i}"].T) * (zs[i - 2] > 0)
    return loss, grads
