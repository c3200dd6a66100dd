"""Starter for quantize: the six functions of README.md's contract (numpy only)."""

from __future__ import annotations

import numpy as np


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    raise NotImplementedError("quantize_weight")


def quantize_activation(calib: np.ndarray) -> tuple[float, int]:
    raise NotImplementedError("quantize_activation")


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    raise NotImplementedError("quantize")


def int8_linear(qx, x_zero_point, qw, w_scale, x_scale, out_scale, out_zero_point):
    raise NotImplementedError("int8_linear")


def magnitude_prune_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    raise NotImplementedError("magnitude_prune_mask")


def mask_2_4(w: np.ndarray) -> np.ndarray:
    raise NotImplementedError("mask_2_4")
