"""A correct solution written plainly: Python's round() (half to even) element by element, a
per-row integer dot product in int64, and sorts keyed by (-|w|, index) for both masks."""

import numpy as np


def _clip(v, lo, hi):
    return min(max(v, lo), hi)


def quantize_weights(w):
    n, k = w.shape
    qw = np.zeros((n, k), dtype=np.int8)
    scale = np.ones(n, dtype=np.float64)
    for r in range(n):
        peak = max(abs(float(v)) for v in w[r])
        if peak > 0:
            scale[r] = peak / 127
        s = float(scale[r])
        for c in range(k):
            qw[r, c] = _clip(round(float(w[r, c]) / s), -127, 127)
    return qw, scale


def calibrate_activations(calib):
    lo = min(float(calib.min()), 0.0)
    hi = max(float(calib.max()), 0.0)
    scale = (hi - lo) / 255 if hi != lo else 1.0
    return scale, _clip(-128 - round(lo / scale), -128, 127)


def quantize_activations(x, scale, zero_point):
    flat = [_clip(round(float(v) / scale) + zero_point, -128, 127) for v in x.reshape(-1)]
    return np.array(flat, dtype=np.int8).reshape(x.shape)


def int8_matmul(qx, x_zero_point, qw):
    centred = qx.astype(np.int64) - x_zero_point
    weights = qw.astype(np.int64)
    acc = np.empty((qx.shape[0], qw.shape[0]), dtype=np.int32)
    for m in range(qx.shape[0]):
        acc[m] = weights @ centred[m]                               # (N, K) @ (K,) -> (N,), exact in int64
    return acc


def requantize(acc, x_scale, w_scale, out_scale, out_zero_point):
    mult = [(x_scale * float(s)) / out_scale for s in w_scale]
    y = np.empty(acc.shape, dtype=np.int8)
    for m in range(acc.shape[0]):
        for n in range(acc.shape[1]):
            y[m, n] = _clip(round(mult[n] * int(acc[m, n])) + out_zero_point, -128, 127)
    return y


def magnitude_mask(w, sparsity):
    flat = [abs(float(v)) for v in w.reshape(-1)]
    keep = len(flat) - round(sparsity * len(flat))
    order = sorted(range(len(flat)), key=lambda i: (-flat[i], i))
    mask = np.zeros(len(flat), dtype=bool)
    mask[order[:keep]] = True
    return mask.reshape(w.shape)


def mask_2_4(w):
    n, k = w.shape
    if k % 4:
        raise ValueError(f"2:4 needs K % 4 == 0, got K = {k}")
    mask = np.zeros((n, k), dtype=bool)
    for r in range(n):
        for g in range(0, k, 4):
            best = sorted(range(g, g + 4), key=lambda i: (-abs(float(w[r, i])), i))[:2]
            mask[r, best] = True
    return mask
