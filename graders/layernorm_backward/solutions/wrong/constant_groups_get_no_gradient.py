# WRONG(failed): gives a group of variance 0 rstd = 0, so its dx is 0; it is (dxhat - mean(dxhat)) / sqrt(eps)
"""layernorm_backward, known wrong: a constant group "has nothing to normalise", so it gets no
gradient. y is still beta there (xhat = 0 either way); only dx shows it."""

import numpy as np


def layernorm_forward(x, gamma, beta, eps):
    axes = tuple(range(x.ndim - gamma.ndim, x.ndim))          # the trailing dims gamma covers
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=axes, keepdims=True)
    var = (centred * centred).mean(axis=axes, keepdims=True)
    inv = np.where(var > 0, 1.0 / np.sqrt(var + eps), 0.0)   # the guard: rstd = 0 where var == 0
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
