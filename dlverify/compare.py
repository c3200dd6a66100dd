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
        got64 = _as_numpy64(got)
    except Exception as exc:  # noqa: BLE001 - an output we cannot read is the candidate's failure
        return Check(False, f"{name}: cannot be read as numbers ({type(exc).__name__})")
    want64 = _as_numpy64(want)
    if tuple(got64.shape) != tuple(want64.shape):
        return Check(False, f"{name}: shape {tuple(got64.shape)}, expected {tuple(want64.shape)}")
    if got64.size == 0:
        return Check(True, max_abs_error=0.0, max_rel_error=0.0)
    got_finite = np.isfinite(got64)
    want_finite = np.isfinite(want64)
    if not np.array_equal(got_finite, want_finite):
        bad = int(np.count_nonzero(got_finite != want_finite))
        kind = "NaN or inf" if not got_finite.all() else "finite values where the reference is not"
        return Check(False, f"{name}: {bad} element(s) are {kind}")
    nonfinite_mismatch = ~want_finite & (got64 != want64) & ~(np.isnan(got64) & np.isnan(want64))
    if nonfinite_mismatch.any():
        return Check(False, f"{name}: non-finite values differ from the reference")
    g = np.where(want_finite, got64, 0.0)
    w = np.where(want_finite, want64, 0.0)
    # A candidate's 1e308 against the reference's -1e308 overflows to inf: an error beyond any
    # tolerance (so a failure), never a warning or an exception.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        diff = np.abs(g - w)
        max_abs = float(diff.max())
        max_rel = float((diff / np.maximum(np.abs(w), 1e-12)).max())
        allowed = atol + rtol * np.abs(w)
        over = ~(diff <= allowed)
    if over.any():
        with np.errstate(over="ignore", invalid="ignore"):
            idx = np.unravel_index(int(np.argmax(np.where(over, diff - allowed, -np.inf))), diff.shape)
        return Check(
            False,
            f"{name}: {int(over.sum())} of {diff.size} elements outside atol={atol:g}, rtol={rtol:g} "
            f"(worst at {tuple(int(i) for i in idx)}: got {g[idx]:.10g}, expected {w[idx]:.10g})",
            max_abs, max_rel,
        )
    return Check(True, "", max_abs, max_rel)


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
