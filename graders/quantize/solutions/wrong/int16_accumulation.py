# WRONG(failed): accumulates the products in int16, which wraps when the sums pass 32767
"""quantize, known wrong: accumulates the products in int16, which wraps when the sums pass 32767."""

import numpy as np


def round_half_even(v):
    return np.rint(v)


def quantize_weight(w):
    w = np.asarray(w, dtype=np.float64)
    amax = np.abs(w).max(axis=1)                               # (out,)
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(round_half_even(w / scale[:, None]), -127, 127)
    return q.astype(np.int8), scale


def quantize_activation(calib):
    calib = np.asarray(calib, dtype=np.float64)
    lo, hi = min(calib.min(), 0.0), max(calib.max(), 0.0)     # the range always holds 0
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero_point = int(np.clip(round_half_even(-128.0 - lo / scale), -128, 127))
    return float(scale), zero_point


def quantize(x, scale, zero_point):
    q = round_half_even(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def int8_linear(qx, x_zero_point, qw, w_scale, x_scale, out_scale, out_zero_point):
    acc = (qx.astype(np.int16) - np.int16(x_zero_point)) @ qw.astype(np.int16).T    # (M, K) @ (K, N), int32
    multiplier = x_scale * np.asarray(w_scale, dtype=np.float64) / out_scale          # (N,) float64
    y = np.clip(round_half_even(acc * multiplier) + out_zero_point, -128, 127).astype(np.int8)
    return acc.astype(np.int32), y


def magnitude_prune_mask(w, sparsity):
    flat = np.abs(np.asarray(w, dtype=np.float64)).reshape(-1)
    k = int(np.floor(sparsity * flat.size))                     # how many to remove
    order = np.argsort(flat, kind="stable")                     # ties: the lower index goes first
    keep = np.ones(flat.size, dtype=bool)
    keep[order[:k]] = False
    return keep.reshape(np.shape(w))


def mask_2_4(w):
    w = np.asarray(w, dtype=np.float64)
    if w.shape[-1] % 4:
        raise ValueError(f"2:4 sparsity needs the last dimension to be a multiple of 4, got {w.shape[-1]}")
    groups = np.abs(w).reshape(-1, 4)
    # the two largest of each 4; on a tie the lower index wins: sort by (-|w|, index)
    order = np.argsort(-groups, axis=1, kind="stable")[:, :2]
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=1)
    return keep.reshape(w.shape)
