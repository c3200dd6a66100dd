"""Host side of quantize: inputs, the exact answer, the check.

The answer is computed here, not by reference.py: elementwise with Python's round() (which
rounds a float half to even, exactly), integers in int64 (then shown to fit int32), masks by
explicit sorting keys. Every integer and mask is compared exactly; scales are float64 formulas
compared exactly too (the README fixes the order of the operations).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

HALF_STEP = 2.0 ** -6   # a power of two: k + 0.5 steps of it are exact in float32 and float64


def _rint(v: np.ndarray) -> np.ndarray:
    return np.array([round(float(a)) for a in np.asarray(v, dtype=np.float64).reshape(-1)],
                    dtype=np.int64).reshape(np.shape(v))


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    p = case.params
    rng = np.random.default_rng(seed)
    op = p["op"]
    if op == "weight":
        out, k = int(p["out"]), int(p["in"])
        w = rng.standard_normal((out, k)).astype(np.float32)
        if p.get("special"):
            w[0] = 0.0                                                   # an all-zero channel
            halves = (rng.integers(-120, 120, size=k) + 0.5) * HALF_STEP
            w[1] = halves.astype(np.float32)
            w[1, 0] = 127 * HALF_STEP                                    # so the scale is HALF_STEP exactly
            w[2] = rng.standard_normal(k).astype(np.float32) * 1e-3
            w[2, 1] = -40.0                                              # one outlier, negative
        return {"w": w}
    if op == "activation":
        n = int(p["n"])
        calib = rng.standard_normal(n).astype(np.float32) * float(p.get("spread", 1.0)) + float(p.get("shift", 0.0))
        if p.get("zeros"):
            calib[:] = 0.0
        x = rng.standard_normal(n).astype(np.float32) * float(p.get("spread", 1.0)) * 1.5 + float(p.get("shift", 0.0))
        return {"calib": calib, "x": x}
    if op == "linear":
        m, n, k = int(p["M"]), int(p["N"]), int(p["K"])
        lo, hi = (-128, 128) if p.get("extreme") else (-40, 41)
        return {"qx": rng.integers(lo, hi, size=(m, k)).astype(np.int8),
                "qw": rng.integers(max(lo, -127), min(hi, 128), size=(n, k)).astype(np.int8),
                "w_scale": rng.uniform(1e-3, 2e-2, size=n),
                "x_scale": np.array(float(p["x_scale"])), "out_scale": np.array(float(p["out_scale"]))}
    shape = tuple(int(s) for s in p["shape"])
    # few distinct magnitudes: ties everywhere, so the tie rules decide
    w = (rng.integers(-3, 4, size=shape) * 0.25).astype(np.float32) if p.get("ties") else \
        rng.standard_normal(shape).astype(np.float32)
    return {"w": w}


def _weight(w):
    w = np.asarray(w, dtype=np.float64)
    amax = np.array([max(abs(float(a)) for a in row) for row in w])
    scale = np.array([a / 127.0 if a > 0 else 1.0 for a in amax])
    return np.clip(_rint(w / scale[:, None]), -127, 127).astype(np.int8), scale


def _activation(calib, x):
    calib = np.asarray(calib, dtype=np.float64)
    lo, hi = min(float(calib.min()), 0.0), max(float(calib.max()), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(min(max(round(-128.0 - lo / scale), -128), 127))
    q = np.clip(_rint(np.asarray(x, dtype=np.float64) / scale) + zp, -128, 127).astype(np.int8)
    return scale, zp, q


def _prune(w, sparsity):
    flat = [abs(float(v)) for v in np.asarray(w).reshape(-1)]
    k = int(np.floor(sparsity * len(flat)))
    removed = sorted(range(len(flat)), key=lambda i: (flat[i], i))[:k]   # smallest first; ties: lower index
    keep = np.ones(len(flat), dtype=bool)
    keep[removed] = False
    return keep.reshape(np.shape(w))


def _mask24(w):
    groups = np.abs(np.asarray(w, dtype=np.float64)).reshape(-1, 4)
    keep = np.zeros(groups.shape, dtype=bool)
    for r, g in enumerate(groups):
        for i in sorted(range(4), key=lambda i: (-g[i], i))[:2]:          # largest two; ties: lower index
            keep[r, i] = True
    return keep.reshape(np.shape(w))


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    op = p["op"]
    if op == "weight":
        q, scale = _weight(inputs["w"])
        return {"q": q, "scale": scale}
    if op == "activation":
        scale, zp, q = _activation(inputs["calib"], inputs["x"])
        return {"scale": np.array(scale), "zero_point": np.array(zp, dtype=np.int64), "q": q}
    if op == "linear":
        acc = (inputs["qx"].astype(np.int64) - int(p["x_zero_point"])) @ inputs["qw"].astype(np.int64).T
        assert np.abs(acc).max() < 2 ** 31, "a case whose sums do not fit int32"   # a cases.toml bug
        mult = float(inputs["x_scale"]) * inputs["w_scale"] / float(inputs["out_scale"])
        y = np.clip(_rint(acc * mult) + int(p["out_zero_point"]), -128, 127)
        return {"acc": acc.astype(np.int32), "y": y.astype(np.int8)}
    if op == "prune":
        return {"mask": _prune(inputs["w"], float(p["sparsity"]))}
    if op == "mask24":
        return {"mask": _mask24(inputs["w"])}
    return {"refused": np.array([1], dtype=np.int64)}


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in want:   # exact: integers, masks, and scales the README fixes operation by operation
        result = result & compare_arrays(key, outputs[key], want[key], 0.0, 0.0, expect_type=np.ndarray)
    return result
