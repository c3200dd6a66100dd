"""The shared comparison of a candidate's output against the reference.

Runs in the host only, on outputs that came back as data. Every grader calls
this instead of writing its own, so a strictness fix lands in every pack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Check:
    """A comparison's verdict. Its errors may be inf (1e300 against an exact 0): the result
    writer turns a non-finite figure into null (result.finite); combining keeps the worst."""

    ok: bool
    message: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None

    def __and__(self, other: "Check") -> "Check":
        """Combine two checks: both must hold; the worse errors are kept."""
        first_failure = self if not self.ok else other
        return Check(
            ok=self.ok and other.ok,
            message=first_failure.message if not (self.ok and other.ok) else "",
            max_abs_error=_worst(self.max_abs_error, other.max_abs_error),
            max_rel_error=_worst(self.max_rel_error, other.max_rel_error),
        )


def _worst(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return max(values) if values else None


def _as_numpy64(value: Any) -> np.ndarray:
    """A float64 (or int64 / bool) numpy copy of a tensor or array, for the comparison."""
    try:
        import torch
    except ImportError:  # numpy-only exercises never need torch here
        torch = None
    if torch is not None and type(value) is torch.Tensor:
        t = value.detach().cpu()
        t = t.double() if t.is_floating_point() else t.long() if not t.dtype == torch.bool else t
        return t.numpy()
    if type(value) is np.ndarray:
        return value.astype(np.float64) if value.dtype.kind == "f" else value
    raise TypeError(type(value).__name__)


def _dtype_of(value: Any) -> str:
    """The dtype's name, read without converting anything."""
    dtype = getattr(value, "dtype", None)
    return str(dtype).replace("torch.", "")


def compare_arrays(
    name: str,
    got: Any,
    want: Any,
    atol: float,
    rtol: float,
    *,
    expect_type: type | None = None,
) -> Check:
    """Exact type, dtype and shape first, then finiteness, then closeness.

    NaN is never a wildcard: a NaN where the reference is finite fails, and so
    does a finite value where the reference is NaN or infinite.
    """
    want_type = expect_type or type(want)
    if type(got) is not want_type:
        return Check(False, f"{name}: expected a {want_type.__module__}.{want_type.__name__}, "
                            f"got {type(got).__module__}.{type(got).__name__}")
    got_dtype, want_dtype = _dtype_of(got), _dtype_of(want)
    if got_dtype != want_dtype:
        return Check(False, f"{name}: dtype {got_dtype}, expected {want_dtype}")
    try:
        got_shape, want_shape = tuple(got.shape), tuple(want.shape)
        got_flat, want_flat = _flat(got), _flat(want)
    except Exception as exc:  # noqa: BLE001 - an output we cannot read is the candidate's failure
        return Check(False, f"{name}: cannot be read as numbers ({type(exc).__name__})")
    if got_shape != want_shape:
        return Check(False, f"{name}: shape {got_shape}, expected {want_shape}")
    size = int(np.prod(want_shape, dtype=np.int64)) if want_shape else 1
    if size == 0:
        return Check(True, max_abs_error=0.0, max_rel_error=0.0)
    if atol == 0 and rtol == 0 and _is_integer(want_dtype):
        return _exact_integers(name, got_flat, want_flat, size, want_shape)
    try:
        tally = _Tally(atol, rtol)
        for begin in range(0, size, CHUNK):
            tally.add(begin, _as_numpy64(got_flat[begin:begin + CHUNK]), _as_numpy64(want_flat[begin:begin + CHUNK]))
    except Exception as exc:  # noqa: BLE001
        return Check(False, f"{name}: cannot be read as numbers ({type(exc).__name__})")
    if tally.finite_mismatches:
        kind = "NaN or inf" if tally.got_nonfinite else "finite values where the reference is not"
        return Check(False, f"{name}: {tally.finite_mismatches} element(s) are {kind}")
    if tally.nonfinite_differ:
        return Check(False, f"{name}: non-finite values differ from the reference")
    if tally.over:
        idx = np.unravel_index(tally.worst_index, want_shape) if want_shape else ()
        return Check(
            False,
            f"{name}: {tally.over} of {size} elements outside atol={atol:g}, rtol={rtol:g} "
            f"(worst at {tuple(int(i) for i in idx)}: got {tally.worst_got:.10g}, expected {tally.worst_want:.10g})",
            tally.max_abs, tally.max_rel,
        )
    return Check(True, "", tally.max_abs, tally.max_rel)


def _is_integer(dtype: Any) -> bool:
    text = str(dtype)
    return any(k in text for k in ("int", "bool")) and "float" not in text and "complex" not in text


def _exact_integers(name: str, got_flat, want_flat, size: int, want_shape: tuple) -> Check:
    """Integers held exactly: in float64, 2**61 + 1 and 2**61 would be the same number."""
    over, first = 0, None
    try:
        for begin in range(0, size, CHUNK):
            g = np.asarray(got_flat[begin:begin + CHUNK]).astype(np.int64)
            w = np.asarray(want_flat[begin:begin + CHUNK]).astype(np.int64)
            differ = np.flatnonzero(g != w)
            over += len(differ)
            if first is None and len(differ):
                i = int(differ[0])
                first = (begin + i, int(g[i]), int(w[i]))
    except Exception as exc:  # noqa: BLE001 - an output we cannot read is the candidate's failure
        return Check(False, f"{name}: cannot be read as numbers ({type(exc).__name__})")
    if not over:
        return Check(True, "", 0.0, 0.0)
    idx = np.unravel_index(first[0], want_shape) if want_shape else ()
    return Check(False, f"{name}: {over} of {size} elements differ, exact integers expected "
                        f"(first at {tuple(int(i) for i in idx)}: got {first[1]}, expected {first[2]})",
                 float(abs(first[1] - first[2])), None)


# Elements compared at a time: the same verdict as one pass over everything, without float64
# copies of whole outputs (a 4096 x 32768 output is 1 GiB in float64, and each step made more).
CHUNK = 1 << 22


def _flat(value: Any):
    """A flat view (or copy) of a tensor or array, sliced chunk by chunk later."""
    if type(value) is np.ndarray:
        return value.reshape(-1)
    return value.detach().reshape(-1)


class _Tally:
    """What compare_arrays decides on, gathered chunk by chunk."""

    def __init__(self, atol: float, rtol: float):
        self.atol, self.rtol = atol, rtol
        self.finite_mismatches = 0
        self.got_nonfinite = False
        self.nonfinite_differ = False
        self.max_abs = self.max_rel = 0.0
        self.over = 0
        self.worst_excess = -np.inf
        self.worst_index, self.worst_got, self.worst_want = 0, 0.0, 0.0

    def add(self, begin: int, got64: np.ndarray, want64: np.ndarray) -> None:
        got_finite, want_finite = np.isfinite(got64), np.isfinite(want64)
        self.got_nonfinite |= not got_finite.all()
        self.finite_mismatches += int(np.count_nonzero(got_finite != want_finite))
        if not want_finite.all():
            mismatch = ~want_finite & (got64 != want64) & ~(np.isnan(got64) & np.isnan(want64))
            self.nonfinite_differ |= bool(mismatch.any())
        g = np.where(want_finite, got64, 0.0)
        w = np.where(want_finite, want64, 0.0)
        # A candidate's 1e308 against the reference's -1e308 overflows to inf: an error beyond any
        # tolerance (so a failure), never a warning or an exception.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            diff = np.abs(g - w)
            self.max_abs = max(self.max_abs, float(diff.max()))
            self.max_rel = max(self.max_rel, float((diff / np.maximum(np.abs(w), 1e-12)).max()))
            allowed = self.atol + self.rtol * np.abs(w)
            over = ~(diff <= allowed)
            count = int(np.count_nonzero(over))
            if count:
                excess = np.where(over, diff - allowed, -np.inf)
                at = int(np.argmax(excess))
                if self.over == 0 or excess[at] > self.worst_excess:
                    self.worst_excess = excess[at]
                    self.worst_index, self.worst_got, self.worst_want = begin + at, float(g[at]), float(w[at])
        self.over += count


def exact_keys(outputs: Any, want: dict) -> Check | None:
    """A failed Check unless `outputs` is a dict with exactly the expected answer's keys."""
    if not isinstance(outputs, dict):
        return Check(False, f"outputs: expected a dict, got {type(outputs).__name__}")
    missing = [k for k in want if k not in outputs]
    if missing:
        return Check(False, f"missing output(s): {', '.join(missing)}")
    extra = sorted(str(k) for k in outputs if k not in want)
    if extra:
        return Check(False, f"unexpected output(s): {', '.join(extra)}")
    return None


def compare_scalar(name: str, got: Any, want: float, atol: float, rtol: float) -> Check:
    """A Python number from the candidate: int or float (never bool), within float range, finite."""
    if type(got) not in (float, int):
        return Check(False, f"{name}: expected a Python float, got {type(got).__name__}")
    try:
        got = float(got)
    except OverflowError:  # an int such as 10**400: no float holds it
        return Check(False, f"{name}: an integer of {got.bit_length()} bits is out of range, expected about {want:.8g}")
    if not math.isfinite(got):
        return Check(False, f"{name}: {got} is not finite")
    diff = abs(got - want)
    rel = diff / max(abs(want), 1e-12)  # may be inf (see Check)
    ok = diff <= atol + rtol * abs(want)
    msg = "" if ok else f"{name}: got {got:.8g}, expected {want:.8g} (atol={atol:g}, rtol={rtol:g})"
    return Check(ok, msg, diff, rel)
