"""A correct solution written another way: a half-to-even rounding of its own (floor and the
remainder), the zero point folded out of the product (acc = qx @ qw^T - zp * row sums of qw, in
int64), magnitude pruning by a threshold plus a count of the ties at it, 2:4 by pairwise wins."""

import numpy as np


def _round_half_even(v):
    """floor, then up when the remainder is over a half, or exactly a half and the floor is odd."""
    down = np.floor(v)
    rest = v - down                                 # exact for |v| < 2**52
    up = (rest > 0.5) | ((rest == 0.5) & (np.mod(down, 2) == 1))
    return down + up


def quantize_weights(w):
    w = np.asarray(w, dtype=np.float64)
    peak = np.max(np.abs(w), axis=1, keepdims=True)                 # (N, 1)
    scale = peak / 127
    scale[peak == 0] = 1.0
    q = np.minimum(np.maximum(_round_half_even(w / scale), -127), 127)
    return q.astype(np.int8), scale[:, 0].copy()


def calibrate_activations(calib):
    lo, hi = float(np.min(calib)), float(np.max(calib))
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        return 1.0, -128                                           # -128 - round(0 / 1.0)
    scale = (hi - lo) / 255
    zero_point = -128 - int(_round_half_even(np.float64(lo / scale)))
    return scale, max(-128, min(127, zero_point))


def quantize_activations(x, scale, zero_point):
    q = _round_half_even(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.minimum(np.maximum(q, -128), 127).astype(np.int8)


def int8_matmul(qx, x_zero_point, qw):
    a, b = qx.astype(np.int64), qw.astype(np.int64)                # (M, K), (N, K)
    acc = a @ b.T - x_zero_point * b.sum(axis=1)[None, :]          # sum_k (a - zp) b = sum a b - zp sum b
    return acc.astype(np.int32)


def requantize(acc, x_scale, w_scale, out_scale, out_zero_point):
    multiplier = np.array([(x_scale * s) / out_scale for s in np.asarray(w_scale, dtype=np.float64)])
    y = _round_half_even(acc.astype(np.float64) * multiplier) + out_zero_point
    return np.minimum(np.maximum(y, -128), 127).astype(np.int8)


def magnitude_mask(w, sparsity):
    size = w.size
    keep = size - round(float(sparsity) * size)
    mag = np.abs(w).reshape(-1)
    if keep == 0:
        return np.zeros(w.shape, dtype=bool)
    threshold = np.sort(mag)[size - keep]                          # the smallest magnitude kept
    above = mag > threshold
    at = np.flatnonzero(mag == threshold)                          # ties at the threshold, by index
    mask = above.copy()
    mask[at[:keep - int(above.sum())]] = True                      # the lowest indices among them
    return mask.reshape(w.shape)


def mask_2_4(w):
    n, k = w.shape
    if k % 4 != 0:
        raise ValueError(f"K = {k} is not a multiple of 4")
    g = np.abs(w).reshape(n, k // 4, 4)
    wins = np.zeros(g.shape, dtype=np.int64)                       # how many of the group each entry beats
    for i in range(4):
        for j in range(4):
            if i != j:
                wins[..., i] += (g[..., i] > g[..., j]) | ((g[..., i] == g[..., j]) & (i < j))
    return (wins >= 2).reshape(n, k)
