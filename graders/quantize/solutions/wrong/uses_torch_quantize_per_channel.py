# WRONG(rejected): quantises the weights with torch.quantize_per_channel and prunes with torch.nn.utils.prune (numpy only)
import numpy as np
import torch
from torch.nn.utils import prune


def quantize_weights(w):
    t = torch.from_numpy(w).float()
    peak = t.abs().amax(dim=1)
    scale = torch.where(peak > 0, peak / 127, torch.ones_like(peak))
    q = torch.quantize_per_channel(t, scale, torch.zeros_like(scale, dtype=torch.long), 0, torch.qint8)
    return q.int_repr().clamp(-127, 127).numpy(), scale.numpy()


def calibrate_activations(calib):
    lo, hi = min(float(calib.min()), 0.0), max(float(calib.max()), 0.0)
    scale = (hi - lo) / 255 if hi > lo else 1.0
    return scale, int(np.clip(-128 - np.rint(lo / scale), -128, 127))


def quantize_activations(x, scale, zero_point):
    return torch.quantize_per_tensor(torch.from_numpy(x).float(), scale, zero_point, torch.qint8).int_repr().numpy()


def int8_matmul(qx, x_zero_point, qw):
    return (qx.astype(np.int32) - x_zero_point) @ qw.astype(np.int32).T


def requantize(acc, x_scale, w_scale, out_scale, out_zero_point):
    y = np.rint(acc * ((x_scale * w_scale) / out_scale)[None, :]) + out_zero_point
    return np.clip(y, -128, 127).astype(np.int8)


def magnitude_mask(w, sparsity):
    module = torch.nn.Linear(1, 1, bias=False)
    module.weight = torch.nn.Parameter(torch.from_numpy(w.reshape(w.shape[0], -1)))
    prune.l1_unstructured(module, "weight", amount=sparsity)
    return module.weight_mask.bool().numpy().reshape(w.shape)


def mask_2_4(w):
    n, k = w.shape
    if k % 4:
        raise ValueError("K must be a multiple of 4")
    order = np.argsort(-np.abs(w).reshape(n, k // 4, 4), axis=-1, kind="stable")
    mask = np.zeros((n, k // 4, 4), dtype=bool)
    np.put_along_axis(mask, order[..., :2], True, axis=-1)
    return mask.reshape(n, k)
