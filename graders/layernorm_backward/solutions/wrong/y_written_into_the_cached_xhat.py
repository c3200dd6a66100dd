# WRONG(failed): computes y in place in the xhat array its cache holds, so the backward reads y as xhat
"""layernorm_backward, known wrong: saves a buffer by scaling and shifting xhat in place into y;
y itself is right (the driver keeps it as returned), dx and dgamma are not."""

import numpy as np


def layernorm_forward(x, gamma, beta, eps):
    axes = tuple(range(x.ndim - gamma.ndim, x.ndim))          # the trailing dims gamma covers
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    xhat = centred * inv
    cache = (xhat, inv, gamma.astype(np.float64), axes)
    y = xhat                                                  # the same array the cache holds
    y *= gamma
    y += beta
    return y.astype(x.dtype), cache


def layernorm_backward(dy, cache):
    xhat, inv, gamma, axes = cache
    lead = tuple(range(dy.ndim - len(axes)))
    n = int(np.prod([dy.shape[a] for a in axes]))
    dy64 = dy.astype(np.float64)
    dxhat = dy64 * gamma
    dx = inv / n * (n * dxhat - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx.astype(dy.dtype), (dy64 * xhat).sum(axis=lead).astype(dy.dtype), dy64.sum(axis=lead).astype(dy.dtype)
