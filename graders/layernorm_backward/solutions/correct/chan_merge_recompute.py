"""Correct, written a third way: Chan's pairwise merge of (mean, M2) over each group's flattened
values, in float64, keeping x's leading axes (no (rows, n) view); the cache keeps x itself and the
backward recomputes xhat from it instead of caching xhat."""

import numpy as np


def _moments(flat):
    """flat: (..., n) float64 -> (mean, m2), each (..., 1): neighbouring columns merged pairwise
    (count, mean, M2) until one is left; the update never forms E[x^2]."""
    mean, m2 = flat, np.zeros_like(flat)
    count = np.ones(flat.shape[-1])
    while mean.shape[-1] > 1:
        even = mean.shape[-1] // 2 * 2                   # merge columns 2i and 2i+1; an odd last one waits
        na, nb = count[0:even:2], count[1:even:2]
        delta = mean[..., 1:even:2] - mean[..., 0:even:2]
        merged_mean = mean[..., 0:even:2] + delta * (nb / (na + nb))
        merged_m2 = m2[..., 0:even:2] + m2[..., 1:even:2] + delta * delta * (na * nb / (na + nb))
        mean = np.concatenate([merged_mean, mean[..., even:]], axis=-1)
        m2 = np.concatenate([merged_m2, m2[..., even:]], axis=-1)
        count = np.concatenate([na + nb, count[even:]])
    return mean, m2


def _normalise(x64, k, eps):
    """x64: (*lead, *norm) float64 -> (xhat, rstd), rstd shaped (*lead, 1, ..., 1) to broadcast."""
    lead = x64.shape[:x64.ndim - k]
    flat = x64.reshape(lead + (-1,))                     # (*lead, n)
    mean, m2 = _moments(flat)
    rstd = 1.0 / np.sqrt(m2 / flat.shape[-1] + eps)      # biased variance: M2 / n
    bcast = lead + (1,) * k
    return (x64 - mean.reshape(bcast)) * rstd.reshape(bcast), rstd.reshape(bcast)


def layernorm_forward(x, gamma, beta, eps):
    x64 = x.astype(np.float64)
    xhat, _ = _normalise(x64, gamma.ndim, eps)
    y = xhat * gamma.astype(np.float64) + beta.astype(np.float64)
    return y.astype(x.dtype), {"x": x64, "gamma": gamma.astype(np.float64), "eps": eps}


def layernorm_backward(dy, cache):
    x, gamma, eps = cache["x"], cache["gamma"], cache["eps"]
    k = gamma.ndim
    xhat, rstd = _normalise(x, k, eps)                   # recomputed, not cached
    norm_axes = tuple(range(x.ndim - k, x.ndim))
    lead_axes = tuple(range(x.ndim - k))
    n = gamma.size
    d = dy.astype(np.float64)
    g = d * gamma                                        # the gradient reaching xhat
    # n * dx / rstd = n g - sum(g) - xhat * sum(g xhat), sums over the normalised axes
    dx = rstd / n * (n * g - g.sum(axis=norm_axes, keepdims=True)
                     - xhat * (g * xhat).sum(axis=norm_axes, keepdims=True))
    dgamma = (d * xhat).sum(axis=lead_axes)
    dbeta = d.sum(axis=lead_axes)
    return dx.astype(dy.dtype), dgamma.astype(dy.dtype), dbeta.astype(dy.dtype)
