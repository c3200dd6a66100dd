"""Correct, written another way: rounding by np.round (also half to even), the matmul as an
int64 einsum checked into int32, prune and 2:4 masks by lexsort on (magnitude, index)."""

import numpy as np


def quantize_weight(w):
    w = w.astype(np.float64)
    scale = np.max(np.abs(w), axis=1)
    scale = np.divide(scale, 127.0, out=np.ones_like(scale), where=scale > 0)
    q = np.round(w / scale.reshape(-1, 1))
    return np.minimum(np.maximum(q, -127), 127).astype(np.int8), scale


def quantize_activation(calib):
    c = calib.astype(np.float64)
    lo = min(float(np.min(c)), 0.0)
    hi = max(float(np.max(c)), 0.0)
    scale = 1.0 if hi == lo else (hi - lo) / 255.0
    zp = int(np.round(-128.0 - lo / scale))
    return scale, max(-128, min(127, zp))


def quantize(x, scale, zero_point):
    return np.clip(np.round(x.astype(np.float64) / scale) + zero_point, -128, 127).astype(np.int8)


def int8_linear(qx, x_zero_point, qw, w_scale, x_scale, out_scale, out_zero_point):
    acc = np.einsum("mk,nk->mn", qx.astype(np.int64) - x_zero_point, qw.astype(np.int64)).astype(np.int32)
    mult = (x_scale * w_scale) / out_scale
    y = np.round(acc.astype(np.float64) * mult[None, :]) + out_zero_point
    return acc, np.clip(y, -128, 127).astype(np.int8)


def magnitude_prune_mask(w, sparsity):
    mag = np.abs(w.astype(np.float64)).ravel()
    idx = np.arange(mag.size)
    order = np.lexsort((idx, mag))             # by magnitude, then by index
    mask = np.ones(mag.size, dtype=bool)
    mask[order[: int(sparsity * mag.size // 1)]] = False
    return mask.reshape(w.shape)


def mask_2_4(w):
    if w.shape[-1] % 4 != 0:
        raise ValueError("last dimension must be a multiple of 4")
    g = np.abs(w.astype(np.float64)).reshape(-1, 4)
    mask = np.zeros_like(g, dtype=bool)
    for row in range(g.shape[0]):
        order = np.lexsort((np.arange(4), -g[row]))
        mask[row, order[:2]] = True
    return mask.reshape(w.shape)
