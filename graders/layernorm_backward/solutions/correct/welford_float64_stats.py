"""Correct, written another way: statistics by Welford's update over the flattened group,
in float64 whatever the input dtype; dx from the three-term expansion of the chain rule."""

import numpy as np


def layernorm_forward(x, gamma, beta, eps):
    k = gamma.ndim
    lead_shape = x.shape[: x.ndim - k]
    n = int(np.prod(gamma.shape))
    flat = x.reshape(-1, n).astype(np.float64)
    mean = np.zeros(flat.shape[0])
    m2 = np.zeros(flat.shape[0])
    for j in range(n):                       # Welford: one pass, no cancellation
        delta = flat[:, j] - mean
        mean += delta / (j + 1)
        m2 += delta * (flat[:, j] - mean)
    var = m2 / n
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = (flat - mean[:, None]) * rstd[:, None]
    y = xhat * gamma.reshape(1, n).astype(np.float64) + beta.reshape(1, n)
    cache = (xhat, rstd, gamma, x.shape, lead_shape, x.dtype)
    return y.reshape(x.shape).astype(x.dtype), cache


def layernorm_backward(dy, cache):
    xhat, rstd, gamma, shape, lead_shape, dtype = cache
    n = xhat.shape[1]
    g = dy.reshape(-1, n).astype(np.float64)
    dxhat = g * gamma.reshape(1, n)
    term1 = dxhat
    term2 = dxhat.mean(axis=1, keepdims=True)
    term3 = xhat * (dxhat * xhat).mean(axis=1, keepdims=True)
    dx = (term1 - term2 - term3) * rstd[:, None]
    dgamma = (g * xhat).sum(axis=0).reshape(gamma.shape)
    dbeta = g.sum(axis=0).reshape(gamma.shape)
    return dx.reshape(shape).astype(dtype), dgamma.astype(dtype), dbeta.astype(dtype)
