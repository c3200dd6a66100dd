"""quantize: int8 quantisation, an int8 linear layer, and pruning masks, exactly.

numpy and the standard library only. See README.md for the exact contract:
every float is float64, every rounding is round half to even.
"""

import numpy as np


def quantize_weights(w):
    """Symmetric per-output-channel int8.

    w: (N, K) float64 -> (qw (N, K) int8 in -127..127, scale (N,) float64)
    """
    raise NotImplementedError("quantize_weights")


def calibrate_activations(calib):
    """Asymmetric per-tensor parameters from calibration data of any shape -> (scale: float, zero_point: int)."""
    raise NotImplementedError("calibrate_activations")


def quantize_activations(x, scale, zero_point):
    """x: (M, K) float64, scale: float, zero_point: int -> qx (M, K) int8."""
    raise NotImplementedError("quantize_activations")


def int8_matmul(qx, x_zero_point, qw):
    """qx: (M, K) int8, x_zero_point: int, qw: (N, K) int8 -> acc (M, N) int32, exact."""
    raise NotImplementedError("int8_matmul")


def requantize(acc, x_scale, w_scale, out_scale, out_zero_point):
    """acc: (M, N) int32, x_scale: float, w_scale: (N,) float64, out_scale: float, out_zero_point: int
    -> y (M, N) int8."""
    raise NotImplementedError("requantize")


def magnitude_mask(w, sparsity):
    """w: any shape float64, sparsity: float in [0, 1] -> bool mask of w's shape, True = kept."""
    raise NotImplementedError("magnitude_mask")


def mask_2_4(w):
    """w: (N, K) float64 -> bool mask (N, K): 2 kept in every 4 consecutive along K.

    Raises ValueError when K is not a multiple of 4.
    """
    raise NotImplementedError("mask_2_4")
