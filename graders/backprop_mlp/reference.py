"""Reference solution for backprop_mlp: an MLP's mean cross-entropy and its gradients.

Plain numpy, float64 throughout. The loss uses a log-sum-exp shifted by each
row's largest logit, so logits of magnitude 1e4 neither overflow nor lose the
true class's log-probability to underflow.
"""

import numpy as np


def mlp_loss_and_grads(params, x, y):
    n_layers = len(params) // 2
    n = x.shape[0]

    # Forward, keeping each layer's input (for dW) and pre-activation (for ReLU').
    inputs, preacts = [], []
    h = x                                              # (N, d_0)
    for i in range(1, n_layers + 1):
        inputs.append(h)
        z = h @ params[f"W{i}"] + params[f"b{i}"]      # (N, d_{i-1}) @ (d_{i-1}, d_i) -> (N, d_i)
        preacts.append(z)
        h = np.maximum(z, 0.0) if i < n_layers else z  # no ReLU on the logits
    logits = h                                         # (N, C)

    # Stable log-softmax: subtracting the row max makes the largest exponent exp(0).
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm                     # (N, C)
    rows = np.arange(n)
    loss = float(-log_probs[rows, y].mean())

    # d(mean CE)/d(logits) = (softmax - onehot) / N
    dz = np.exp(log_probs)
    dz[rows, y] -= 1.0
    dz /= n                                            # (N, C)

    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = inputs[i - 1].T @ dz          # (d_{i-1}, N) @ (N, d_i) -> (d_{i-1}, d_i)
        grads[f"b{i}"] = dz.sum(axis=0)                # (d_i,)
        if i > 1:
            dh = dz @ params[f"W{i}"].T                # (N, d_i) @ (d_i, d_{i-1}) -> (N, d_{i-1})
            dz = dh * (preacts[i - 2] > 0)             # ReLU'(z) = 1 where z > 0, else 0 (also at 0)
    return loss, grads
