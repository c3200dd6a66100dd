"""Host-side grader for quantize: inputs, the trusted answer, and the exact check.

A case is one kind of call, by `op` (the driver, sandbox/drivers/quantize.py, makes the calls):
  weights       quantize_weights(w)                         -> qw, w_scale
  activations   calibrate_activations(calib), then quantize_activations(x, that scale, that zero point)
                                                            -> x_scale, x_zero_point, qx
  matmul        int8_matmul(qx, x_zero_point, qw)           -> acc
  requant       requantize(acc, x_scale, w_scale, out_scale, out_zero_point) -> y
  linear        the whole int8 linear layer, each step fed the candidate's own earlier results
                                                            -> all seven of the above
  prune         magnitude_mask(w, sparsity)                 -> mask
  sparse24      mask_2_4(w)                                 -> mask
  sparse24_bad  mask_2_4 with K % 4 != 0 must raise ValueError -> refused = [1]
Every answer is exact: integers, masks, and float64 scales from the README's formulas, compared
bit for bit. This is our own code (lexsort and argsort for the masks, int64 for the accumulator),
not reference.py, so the reference is checked like any submission.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.loading import GraderContext

OUTPUTS = {
    "weights": ("w_scale", "qw"),
    "activations": ("x_scale", "x_zero_point", "qx"),
    "matmul": ("acc",),
    "requant": ("y",),
    # pipeline order: the first failure named is the step that went wrong first
    "linear": ("w_scale", "qw", "x_scale", "x_zero_point", "qx", "acc", "y"),
    "prune": ("mask",),
    "sparse24": ("mask",),
    "sparse24_bad": ("refused",),
}


# --- the trusted answer ------------------------------------------------------------------------


def weight_qparams(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel: (N, K) float64 -> qw (N, K) int8 in -127..127, scale (N,) float64."""
    peak = np.abs(w).max(axis=1)
    scale = peak / 127.0
    scale[peak == 0] = 1.0
    return np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8), scale


def activation_qparams(calib: np.ndarray) -> tuple[float, int]:
    """Asymmetric per-tensor over a range stretched to hold 0: (scale, zero_point)."""
    lo, hi = min(float(calib.min()), 0.0), max(float(calib.max()), 0.0)
    scale = 1.0 if hi == lo else (hi - lo) / 255.0
    return scale, int(np.clip(-128 - np.rint(lo / scale), -128, 127))


def quantize_x(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return np.clip(np.rint(x / scale) + zero_point, -128, 127).astype(np.int8)


def accumulate(qx: np.ndarray, zero_point: int, qw: np.ndarray) -> np.ndarray:
    """(M, K) and (N, K) int8 -> (M, N) int32; summed in int64, which cannot overflow here."""
    acc = (qx.astype(np.int64) - zero_point) @ qw.astype(np.int64).T
    if np.abs(acc).max(initial=0) >= 2**31:
        raise ValueError("a case's accumulator does not fit int32: the case breaks the README's bound")
    return acc.astype(np.int32)


def requant(acc: np.ndarray, x_scale: float, w_scale: np.ndarray, out_scale: float, out_zero_point: int) -> np.ndarray:
    multiplier = x_scale * w_scale / out_scale                 # (N,), evaluated left to right
    return np.clip(np.rint(multiplier * acc) + out_zero_point, -128, 127).astype(np.int8)


def keep_largest(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Unstructured magnitude mask: prune round(sparsity * size) entries, ties kept at the lower index."""
    flat = np.abs(w).reshape(-1)
    pruned = int(np.rint(sparsity * flat.size))
    order = np.lexsort((np.arange(flat.size), -flat))          # |w| descending, then flat index ascending
    mask = np.zeros(flat.size, dtype=bool)
    mask[order[:flat.size - pruned]] = True
    return mask.reshape(w.shape)


def two_of_four(w: np.ndarray) -> np.ndarray:
    n, k = w.shape
    groups = np.abs(w).reshape(n, k // 4, 4)
    order = np.argsort(-groups, axis=-1, kind="stable")        # per group, largest first, ties in index order
    mask = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(mask, order[..., :2], True, axis=-1)
    return mask.reshape(n, k)


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    op = case.params["op"]
    if op == "weights":
        qw, w_scale = weight_qparams(inputs["w"])
        return {"w_scale": w_scale, "qw": qw}
    if op == "activations":
        scale, zp = activation_qparams(inputs["calib"])
        return {"x_scale": np.array(scale), "x_zero_point": np.array(zp, dtype=np.int64),
                "qx": quantize_x(inputs["x"], scale, zp)}
    if op == "matmul":
        return {"acc": accumulate(inputs["qx"], inputs["x_zero_point"], inputs["qw"])}
    if op == "requant":
        return {"y": requant(inputs["acc"], inputs["x_scale"], inputs["w_scale"], inputs["out_scale"],
                             inputs["out_zero_point"])}
    if op == "linear":
        qw, w_scale = weight_qparams(inputs["w"])
        scale, zp = activation_qparams(inputs["calib"])
        qx = quantize_x(inputs["x"], scale, zp)
        acc = accumulate(qx, zp, qw)
        y = requant(acc, scale, w_scale, inputs["out_scale"], inputs["out_zero_point"])
        return {"w_scale": w_scale, "qw": qw, "x_scale": np.array(scale),
                "x_zero_point": np.array(zp, dtype=np.int64), "qx": qx, "acc": acc, "y": y}
    if op == "prune":
        return {"mask": keep_largest(inputs["w"], inputs["sparsity"])}
    if op == "sparse24":
        return {"mask": two_of_four(inputs["w"])}
    if op == "sparse24_bad":
        return {"refused": np.array([1], dtype=np.int64)}
    raise ValueError(f"unknown op {op!r}")


def check(
    case: Case, inputs: dict[str, Any], outputs: dict[str, Any], want: dict[str, Any], ctx: GraderContext
) -> Check:
    # The driver may have been tampered with: trust nothing about `outputs` unchecked.
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    tol = ctx.tolerances["exact"]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in OUTPUTS[case.params["op"]]:
        result = result & compare_arrays(key, outputs[key], want[key], tol.atol, tol.rtol, expect_type=np.ndarray)
    return result


# --- inputs ------------------------------------------------------------------------------------
# Every maker takes the case's rng and params. Crafted cases use power-of-two scales, so that the
# README's float64 quotients are exact and land exactly half-way between two integers: there,
# and only there, round half to even differs from the other roundings.

HALVES = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5])   # both signs, both parities


def _weights(rng, p) -> dict[str, Any]:
    """w (N, K). kind: random (channels of magnitudes 0.01..10), ties, zero_rows."""
    n, k, kind = int(p["N"]), int(p["K"]), p.get("kind", "random")
    if kind == "ties":
        # row n's peak is 127 * 2**-e[n], so its scale is exactly 2**-e[n]; most other entries are
        # (j + 0.5) * 2**-e[n], the rest whole multiples; row 0 starts with every kind of half
        e = rng.integers(3, 10, size=n)
        steps = rng.integers(-126, 126, size=(n, k)) + 0.5
        steps = np.where(rng.random((n, k)) < 0.3, np.floor(steps), steps)
        steps[0, :HALVES.size] = HALVES
        peak_at = rng.integers(HALVES.size, k, size=n)
        steps[np.arange(n), peak_at] = 127.0 * rng.choice([-1.0, 1.0], size=n)
        return {"w": np.ldexp(steps, -e[:, None])}
    w = rng.standard_normal((n, k)) * 10.0 ** rng.uniform(-2, 1, size=(n, 1))
    if kind == "zero_rows":
        w[0] = 0.0
        w[n // 2] = -0.0                                      # an all-zero channel, signs and all
        w[1] = 0.0
        w[1, rng.integers(k)] = -rng.uniform(0.5, 2.0)         # a lone negative entry is the peak
        w[2] = -np.abs(w[2])                                  # every entry negative
    return {"w": w}


def _activations(rng, p) -> dict[str, Any]:
    """calib (C, K) and x (M, K). kind: random, positive, negative, constant, zeros, ties."""
    c, m, k, kind = int(p["C"]), int(p["M"]), int(p["K"]), p.get("kind", "random")
    x = rng.standard_normal((m, k)) * 2.0
    if kind == "ties":
        # lo / scale = -zp_tie exactly (scale 2**-6): the zero point's own rounding is a tie
        lo = -float(p["zp_tie"]) / 64
        hi = lo + 255 / 64
        calib = rng.uniform(lo, hi, size=(c, k))
        calib.flat[rng.choice(calib.size, 2, replace=False)] = lo, hi
        j = rng.integers(-90, 240, size=(m, k)) + np.where(rng.random((m, k)) < 0.7, 0.5, 0.0)
        j[0, :HALVES.size] = HALVES
        return {"calib": calib, "x": j / 64}                     # x / scale = j: halves, saturating ends
    if kind == "positive":                                       # softplus outputs: all > 0, the range starts at 0
        calib = np.abs(rng.standard_normal((c, k))) * 2.0 + 0.05
        x[:, 1:] = np.abs(x[:, 1:])                              # column 0 keeps its negatives
    elif kind == "negative":                                     # the range ends at 0
        calib = -np.abs(rng.standard_normal((c, k))) - 0.25
        x[:, 1:] = -np.abs(x[:, 1:])                             # column 0 keeps its positives
    elif kind == "constant":                                     # max == min before 0 joins the range
        level = float(rng.uniform(0.5, 4.0))
        calib = np.full((c, k), level)
        x = rng.uniform(-0.25, 1.25, size=(m, k)) * level
        x[0, :3] = level, 0.0, -level
    elif kind == "zeros":                                        # all zero: the range is empty, scale 1.0
        calib = np.zeros((c, k))
        x = np.round(x * 100.0, 1)
    else:
        calib = rng.standard_normal((c, k)) * 1.5 + 0.3
    hi, lo = max(calib.max(), 1.0), min(calib.min(), -1.0)
    x[0, -2:] = 3.0 * hi                                         # past the calibrated range:
    x[-1, -2:] = 3.0 * lo                                        # saturates at both ends
    return {"calib": calib, "x": x}


def _matmul(rng, p) -> dict[str, Any]:
    """qx (M, K), qw (N, K) int8 and x_zero_point. kind: random, extremes (|acc| past 2**24, odd)."""
    m, n, k, kind = int(p["M"]), int(p["N"]), int(p["K"]), p.get("kind", "random")
    if kind == "extremes":
        qx = rng.choice(np.array([-128, 127], dtype=np.int8), size=(m, k))
        qw = rng.choice(np.array([-127, 127], dtype=np.int8), size=(n, k))
        zp = int(p["zero_point"])
        far = np.int8(-128 if zp > 0 else 127)                   # qx - zp = -+255 in every column
        qx[0], qx[1] = far, far
        qw[0], qw[1] = 127, -127
        return {"qx": qx, "x_zero_point": zp, "qw": qw}
    return {"qx": rng.integers(-128, 128, size=(m, k), dtype=np.int8),
            "x_zero_point": int(rng.integers(-128, 128)),
            "qw": rng.integers(-127, 128, size=(n, k), dtype=np.int8)}


def _requant(rng, p) -> dict[str, Any]:
    """acc (M, N) int32, x_scale, w_scale (N,), out_scale, out_zero_point. kind: ties, random."""
    m, n, kind = int(p["M"]), int(p["N"]), p.get("kind", "random")
    zp = int(rng.integers(-20, 21))
    if kind == "ties":
        # multiplier[n] = 2**-5 * 2**-(6 + n % 3) / 2**-4 = 2**-(7 + n % 3): exact, and acc is mostly
        # (j + 0.5) / multiplier, so multiplier * acc is a half; j reaches past -128..127
        shift = 7 + np.arange(n) % 3
        j = rng.integers(-150, 150, size=(m, n)) + 0.5
        acc = np.ldexp(j, shift[None, :]).astype(np.int64)
        loose = rng.random((m, n)) < 0.3
        acc[loose] = rng.integers(-2**15, 2**15, size=int(loose.sum()))
        acc[0, :HALVES.size] = np.ldexp(HALVES, shift[:HALVES.size]).astype(np.int64)
        return {"acc": acc.astype(np.int32), "x_scale": 2.0**-5, "w_scale": np.ldexp(1.0, -(shift - 1)),
                "out_scale": 2.0**-4, "out_zero_point": zp}
    return {"acc": (rng.standard_normal((m, n)) * 3e5).astype(np.int32), "x_scale": float(rng.uniform(0.005, 0.05)),
            "w_scale": rng.uniform(1e-4, 1e-2, size=n), "out_scale": float(rng.uniform(0.05, 0.5)),
            "out_zero_point": zp}


def _linear(rng, p) -> dict[str, Any]:
    """w (N, K), calib (C, K), x (M, K), and the output's scale and zero point (about 3% saturate each way)."""
    m, k, n, c = int(p["M"]), int(p["K"]), int(p["N"]), int(p["C"])
    w = rng.standard_normal((n, k)) * 10.0 ** rng.uniform(-1.5, 0.5, size=(n, 1)) / np.sqrt(k)
    if p.get("zero_row"):
        w[n // 2] = 0.0
    calib = rng.standard_normal((c, k)) * 1.2 + 0.2
    x = rng.standard_normal((m, k)) * 1.2 + 0.2
    x[0, :2] = 4.0 * calib.max()
    y = x @ w.T                                                  # (M, N) float: where the outputs lie
    out_scale, out_zp = activation_qparams(np.quantile(y, [0.03, 0.97]))
    return {"w": w, "calib": calib, "x": x, "out_scale": out_scale, "out_zero_point": out_zp}


def _prune(rng, p) -> dict[str, Any]:
    """w of any shape and sparsity. kind: random, ties (nine values, most magnitudes shared)."""
    shape = tuple(int(s) for s in p["shape"])
    if p.get("kind") == "ties":
        w = rng.choice(np.array([-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]), size=shape)
    else:
        w = rng.standard_normal(shape)
    return {"w": w, "sparsity": float(p["sparsity"])}


def _sparse24(rng, p) -> dict[str, Any]:
    """w (N, K). kind: random, ties (values in {0, +-1, +-2}, all-zero and all-equal groups)."""
    n, k = (int(s) for s in p["shape"])
    if p.get("kind") == "ties":
        w = rng.choice(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), size=(n, k))
        w[0, :8] = 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 1.0, -1.0     # every magnitude equal: keep the first two
        return {"w": w}
    return {"w": rng.standard_normal((n, k))}


MAKERS = {"weights": _weights, "activations": _activations, "matmul": _matmul, "requant": _requant,
          "linear": _linear, "prune": _prune, "sparse24": _sparse24, "sparse24_bad": _sparse24}


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """The case's inputs from `seed`; what each op's params mean is in the makers above."""
    return MAKERS[case.params["op"]](np.random.default_rng(seed), case.params)
