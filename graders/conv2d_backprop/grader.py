"""Host-side grader for conv2d_backprop: inputs, the trusted answer, and the check.

A case is one of three kinds, by `op`:
  conv  inputs x, w, b, dy; outputs y (forward) and dx, dw, db (backward);
  pool  inputs x, dy; outputs y and dx of the 2x2 max-pool;
  bad   a configuration the contract says must be refused: the driver calls
        forward and backward and reports each ValueError as refused = [1, 1].
The trusted answer is our own float64 code, written per kernel offset (not
reference.py's im2col), so the reference is checked like any submission.
Outputs must have the inputs' dtype; float32 cases are held to float32's row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.loading import GraderContext

OUTPUTS = {"conv": ("y", "dx", "dw", "db"), "pool": ("y", "dx"), "bad": ("refused",)}


def pair(value) -> tuple[int, int]:
    """A case's stride/padding/dilation: an int or [h, w] -> (h, w)."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def geometry(p: dict) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], int]:
    return pair(p.get("stride", 1)), pair(p.get("padding", 0)), pair(p.get("dilation", 1)), int(p.get("groups", 1))


def out_size(size: int, k: int, s: int, pad: int, d: int) -> int:
    return (size + 2 * pad - d * (k - 1) - 1) // s + 1


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """Standard-normal tensors of the case's shapes and dtype.

    conv/bad params: N, C, H, W, F, KH, KW, stride, padding, dilation, groups, dtype.
      A bad case's w has C // groups input channels (rounded down) and its dy
      is (N, F, 1, 1): the candidate must refuse before using either.
    pool params: N, C, H, W, dtype, and ties: values drawn from {-1, 0, 1} so
      most windows hold a tied maximum (the gradient goes to the first).
    """
    p = case.params
    rng = np.random.default_rng(seed)
    dtype = np.dtype(p.get("dtype", "float64"))
    n, c, h, w = (int(p[k]) for k in ("N", "C", "H", "W"))
    if p["op"] == "pool":
        if p.get("ties"):
            x = rng.integers(-1, 2, size=(n, c, h, w)).astype(dtype)
        else:
            x = rng.standard_normal((n, c, h, w)).astype(dtype)
        dy = rng.standard_normal((n, c, h // 2, w // 2)).astype(dtype)
        return {"x": x, "dy": dy}
    stride, padding, dilation, groups = geometry(p)
    f, kh, kw = int(p["F"]), int(p["KH"]), int(p["KW"])
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = (rng.standard_normal((f, max(1, c // groups), kh, kw)) / np.sqrt(c // groups * kh * kw or 1)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    if p["op"] == "bad":
        dy = rng.standard_normal((n, f, 1, 1)).astype(dtype)
    else:
        oh = out_size(h, kh, stride[0], padding[0], dilation[0])
        ow = out_size(w, kw, stride[1], padding[1], dilation[1])
        dy = rng.standard_normal((n, f, oh, ow)).astype(dtype)
    return {"x": x, "w": wt, "b": b, "dy": dy}


def conv_forward64(x, w, b, stride, padding, dilation, groups) -> np.ndarray:
    """Cross-correlation in float64, one kernel offset at a time."""
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(wd, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    fg = f // groups
    y = np.zeros((n, f, oh, ow))
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                y[:, g * fg:(g + 1) * fg] += np.einsum("nchw,fc->nfhw", patch, ws[:, :, i, j])  # (N,Cg,OH,OW)x(Fg,Cg)
    return y + b[None, :, None, None]


def conv_backward64(dy, x, w, stride, padding, dilation, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dy, x, w = (np.asarray(a, dtype=np.float64) for a in (dy, x, w))
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw_) = stride, padding, dilation
    oh, ow = dy.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    fg = f // groups
    for g in range(groups):
        cs, fs = slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                cols = slice(j * dw_, j * dw_ + sw * (ow - 1) + 1, sw)
                dw[fs, :, i, j] = np.einsum("nfhw,nchw->fc", dy[:, fs], xp[:, cs, rows, cols])
                dxp[:, cs, rows, cols] += np.einsum("nfhw,fc->nchw", dy[:, fs], w[fs, :, i, j])
    return dxp[:, :, ph:ph + h, pw:pw + wd], dw, dy.sum(axis=(0, 2, 3))


def pool_forward_backward64(x, dy) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool, stride 2, the gradient to the first maximum in row-major order."""
    x, dy = np.asarray(x, dtype=np.float64), np.asarray(dy, dtype=np.float64)
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    offsets = [(0, 0), (0, 1), (1, 0), (1, 1)]                      # row-major within the window
    views = [x[:, :, a:2 * h2:2, b:2 * w2:2] for a, b in offsets]   # each (N, C, H2, W2)
    y = np.maximum.reduce(views)
    dx = np.zeros_like(x)
    taken = np.zeros(y.shape, dtype=bool)
    for (a, b), v in zip(offsets, views):
        win = (v == y) & ~taken
        dx[:, :, a:2 * h2:2, b:2 * w2:2] = np.where(win, dy, 0.0)
        taken |= win
    return y, dx


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    if p["op"] == "bad":
        return {"refused": np.array([1, 1], dtype=np.int64)}
    dtype = inputs["x"].dtype
    if p["op"] == "pool":
        y, dx = pool_forward_backward64(inputs["x"], inputs["dy"])
        return {"y": y.astype(dtype), "dx": dx.astype(dtype)}
    stride, padding, dilation, groups = geometry(p)
    y = conv_forward64(inputs["x"], inputs["w"], inputs["b"], stride, padding, dilation, groups)
    dx, dw, db = conv_backward64(inputs["dy"], inputs["x"], inputs["w"], stride, padding, dilation, groups)
    return {k: v.astype(dtype) for k, v in zip(OUTPUTS["conv"], (y, dx, dw, db))}


def check(
    case: Case, inputs: dict[str, Any], outputs: dict[str, Any], want: dict[str, Any], ctx: GraderContext
) -> Check:
    # The driver may have been tampered with: trust nothing about `outputs` unchecked.
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    if case.params["op"] == "bad":
        return compare_arrays("refused", outputs["refused"], want["refused"], 0.0, 0.0, expect_type=np.ndarray)
    tol = ctx.tolerances[case.params.get("dtype", "float64")]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in OUTPUTS[case.params["op"]]:
        result = result & compare_arrays(key, outputs[key], want[key], tol.atol, tol.rtol, expect_type=np.ndarray)
    return result
