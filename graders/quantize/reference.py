"""Reference solution for quantize: int8 quantisation, an int8 linear layer, pruning masks.

Vectorised numpy, every formula exactly as the README writes it: float64 for
scales and quotients, np.rint (IEEE round half to even) for every rounding,
int32 for the accumulator. Ties in the masks go to the lower index: a stable
sort on -|w| keeps equal magnitudes in index order.
"""

import numpy as np

QMIN, QMAX = -128, 127      # int8
WMAX = 127                  # symmetric weights use -127..127 only


def quantize_weights(w):
    """w: (N, K) float64 -> (qw (N, K) int8, scale (N,) float64), one scale per output channel."""
    peak = np.max(np.abs(w), axis=1)                                   # (N,)
    scale = np.where(peak > 0, peak / WMAX, 1.0)                       # an all-zero channel: 1.0
    q = np.rint(w / scale[:, None])                                    # (N, K) / (N, 1)
    return np.clip(q, -WMAX, WMAX).astype(np.int8), scale


def calibrate_activations(calib):
    """calib: any shape, float64 -> (scale: float, zero_point: int), one pair for the tensor."""
    lo = min(float(np.min(calib)), 0.0)                                # the range always holds 0
    hi = max(float(np.max(calib)), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero_point = int(np.clip(QMIN - np.rint(lo / scale), QMIN, QMAX))
    return scale, zero_point


def quantize_activations(x, scale, zero_point):
    """x: (M, K) float64 -> (M, K) int8."""
    return np.clip(np.rint(x / scale) + zero_point, QMIN, QMAX).astype(np.int8)


def int8_matmul(qx, x_zero_point, qw):
    """(M, K) int8, int, (N, K) int8 -> (M, K) @ (K, N) = (M, N) int32, exact."""
    a = qx.astype(np.int32) - np.int32(x_zero_point)                   # -255..255
    return a @ qw.astype(np.int32).T                                   # |sum| <= K * 255 * 127 < 2**31


def requantize(acc, x_scale, w_scale, out_scale, out_zero_point):
    """acc: (M, N) int32, w_scale: (N,) float64 -> (M, N) int8 at (out_scale, out_zero_point)."""
    multiplier = (x_scale * w_scale) / out_scale                       # (N,), one per output channel
    y = np.rint(acc * multiplier[None, :]) + out_zero_point            # (M, N) float64
    return np.clip(y, QMIN, QMAX).astype(np.int8)


def magnitude_mask(w, sparsity):
    """Keep all but round(sparsity * w.size) entries: the largest |w|, ties to the lower flat index."""
    n_pruned = int(np.rint(sparsity * w.size))
    order = np.argsort(-np.abs(w).ravel(), kind="stable")             # largest first, ties in index order
    keep = np.zeros(w.size, dtype=bool)
    keep[order[:w.size - n_pruned]] = True
    return keep.reshape(w.shape)


def mask_2_4(w):
    """w: (N, K), K a multiple of 4 -> (N, K) bool: the 2 largest |w| of each 4 consecutive along K."""
    n, k = w.shape
    if k % 4:
        raise ValueError(f"2:4 sparsity needs K to be a multiple of 4, got K = {k}")
    groups = np.abs(w).reshape(n, k // 4, 4)
    # rank of each entry in its group: how many entries beat it (larger, or equal at a lower index)
    a, b = groups[..., :, None], groups[..., None, :]                  # (N, G, 4, 1) and (N, G, 1, 4)
    lower = np.arange(4)[None, :] < np.arange(4)[:, None]              # [i, j]: j is before i
    rank = np.sum((b > a) | ((b == a) & lower), axis=-1)               # (N, G, 4)
    return (rank < 2).reshape(n, k)
