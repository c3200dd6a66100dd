# WRONG(failed): uses eps = 1e-5, the usual default, whatever eps it is passed
"""layernorm_backward, known wrong: ignores its eps argument; right only where a case's eps is 1e-5."""

import numpy as np


def layernorm_forward(x, gamma, beta, eps):
    axes = tuple(range(x.ndim - gamma.ndim, x.ndim))          # the trailing dims gamma covers
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + 1e-5)
    xhat = centred * inv
    y = (xhat * gamma + beta).astype(x.dtype)
    return y, (xhat, inv, gamma.astype(np.float64), axes)


def layernorm_backward(dy, cache):
    xhat, inv, gamma, axes = cache
    lead = tuple(range(dy.ndim - len(axes)))
    n = int(np.prod([dy.shape[a] for a in axes]))
    dy64 = dy.astype(np.float64)
    dxhat = dy64 * gamma
    dx = inv / n * (n * dxhat - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx.astype(dy.dtype), (dy64 * xhat).sum(axis=lead).astype(dy.dtype), dy64.sum(axis=lead).astype(dy.dtype)
