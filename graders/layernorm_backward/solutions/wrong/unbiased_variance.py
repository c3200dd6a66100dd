# WRONG(failed): divides the variance by n - 1 (unbiased) instead of n
"""layernorm_backward, known wrong: divides the variance by n - 1 (unbiased) instead of n."""

import numpy as np


def layernorm_forward(x, gamma, beta, eps):
    axes = tuple(range(x.ndim - gamma.ndim, x.ndim))          # the trailing dims gamma covers
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=axes, keepdims=True)
    n = int(np.prod([x.shape[a] for a in axes]))
    inv = 1.0 / np.sqrt((centred * centred).sum(axis=axes, keepdims=True) / max(n - 1, 1) + eps)
    xhat = centred * inv
    y = (xhat * gamma + beta).astype(x.dtype)
    return y, (xhat, inv, gamma.astype(np.float64), axes)


def layernorm_backward(dy, cache):
    xhat, inv, gamma, axes = cache
    lead = tuple(range(dy.ndim - len(axes)))
    n = int(np.prod([dy.shape[a] for a in axes]))
    dy64 = dy.astype(np.float64)
    dxhat = dy64 * gamma
    # d/dx of (x - mean) / std: the component along 1 and along xhat are projected out
    dx = inv / n * (n * dxhat - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx.astype(dy.dtype), (dy64 * xhat).sum(axis=lead).astype(dy.dtype), dy64.sum(axis=lead).astype(dy.dtype)
