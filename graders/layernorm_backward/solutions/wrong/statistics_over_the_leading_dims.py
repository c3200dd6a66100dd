# WRONG(failed): takes the mean and variance over the FIRST gamma.ndim dims (like batch norm), not the last
"""layernorm_backward, known wrong: normalises over x's first k dims instead of its last k; the
shapes still broadcast, only the values are wrong."""

import numpy as np


def layernorm_forward(x, gamma, beta, eps):
    axes = tuple(range(gamma.ndim))                           # the first k dims
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    xhat = centred * inv
    y = (xhat * gamma + beta).astype(x.dtype)
    return y, (xhat, inv, gamma.astype(np.float64), axes)


def layernorm_backward(dy, cache):
    xhat, inv, gamma, axes = cache
    lead = tuple(range(dy.ndim - gamma.ndim))                 # dgamma and dbeta: over the leading dims
    n = int(np.prod([dy.shape[a] for a in axes]))
    dy64 = dy.astype(np.float64)
    dxhat = dy64 * gamma
    dx = inv / n * (n * dxhat - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx.astype(dy.dtype), (dy64 * xhat).sum(axis=lead).astype(dy.dtype), dy64.sum(axis=lead).astype(dy.dtype)
