"""Host side of drift_monitor: inputs, the trusted answer, the check.

The answer is computed here with numpy, another way than reference.py's loops: bins by
np.searchsorted, the KS statistic from both empirical CDFs evaluated at every observed value.
tests/test_pack_drift_monitor.py checks the KS statistic against scipy.stats.ks_2samp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

FLOOR = 1e-4


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """params: op; n (reference size); batches (live batch sizes, 0 = empty); shift (per batch);
    missing (fraction missing per batch); decimals (rounding: ties); for psi_cat: categories and
    unseen (extra live-only categories); for alerts: the PSI values given as data."""
    p = case.params
    rng = np.random.default_rng(seed)
    op = p["op"]
    if op == "alerts":
        return {"values": np.array([np.nan if v is None or v == "none" else float(v) for v in p["values"]])}

    def numeric(n, shift, missing):
        v = np.round(rng.standard_normal(n) + shift, int(p.get("decimals", 1)))
        v[rng.random(n) < missing] = np.nan
        return v

    def categorical(n, shift, missing):
        k = int(p["categories"]) + (int(p.get("unseen", 0)) if shift else 0)
        weights = np.arange(1, k + 1, dtype=float)[::-1] if not shift else np.ones(k)
        v = rng.choice(k, size=n, p=weights / weights.sum()).astype(np.int64)
        v[rng.random(n) < missing] = -1
        return v

    make = categorical if op == "psi_cat" else numeric
    inputs: dict[str, Any] = {"reference": make(int(p["n"]), 0.0, float(p.get("ref_missing", 0.0)))}
    for b, size in enumerate(p["batches"]):
        inputs[f"live{b}"] = make(int(size), float(p["shift"][b]), float(p["missing"][b]))
    if op == "psi":
        ref = inputs["reference"][~np.isnan(inputs["reference"])]
        # deciles of the reference, rounded like the data: some data sit exactly on an edge
        inputs["edges"] = np.unique(np.round(np.quantile(ref, np.linspace(0.1, 0.9, 9)), int(p.get("decimals", 1))))
    return inputs


def _psi_counts(ref_counts: np.ndarray, live_counts: np.ndarray) -> float:
    if ref_counts.sum() == 0 or live_counts.sum() == 0:
        return float("nan")
    p = np.maximum(ref_counts / ref_counts.sum(), FLOOR)
    q = np.maximum(live_counts / live_counts.sum(), FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def psi64(ref: np.ndarray, live: np.ndarray, edges: np.ndarray) -> float:
    def counts(v):
        missing = np.isnan(v)
        bins = np.searchsorted(edges, v[~missing], side="right")     # [e_i, e_(i+1)): an edge value goes up
        return np.append(np.bincount(bins, minlength=len(edges) + 1), missing.sum())
    return _psi_counts(counts(ref), counts(live))


def psi_cat64(ref: np.ndarray, live: np.ndarray) -> float:
    seen = np.unique(ref[ref >= 0])
    def counts(v):
        present = v[v >= 0]
        known = np.isin(present, seen)
        per = np.array([(present == c).sum() for c in seen], dtype=float)
        return np.concatenate([per, [(~known).sum(), (v < 0).sum()]])
    return _psi_counts(counts(ref), counts(live))


def ks64(ref: np.ndarray, live: np.ndarray) -> float:
    a, b = np.sort(ref[~np.isnan(ref)]), np.sort(live[~np.isnan(live)])
    if not len(a) or not len(b):
        return float("nan")
    at = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, at, side="right") / len(a)
                               - np.searchsorted(b, at, side="right") / len(b))))


def alerts64(values, high, low, k_on, m_off) -> np.ndarray:
    state, streak, out = False, 0, []
    for v in values:
        if not np.isnan(v):
            crossing = v < low if state else v > high
            streak = streak + 1 if crossing else 0
            if streak == (m_off if state else k_on):
                state, streak = not state, 0
        out.append(state)
    return np.array(out, dtype=bool)


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    if p["op"] == "alerts":
        return {"states": alerts64(inputs["values"], float(p["high"]), float(p["low"]), int(p["k_on"]), int(p["m_off"]))}
    ref = inputs["reference"]
    values = []
    for b in range(len(p["batches"])):
        live = inputs[f"live{b}"]
        if p["op"] == "psi":
            values.append(psi64(ref, live, inputs["edges"]))
        elif p["op"] == "psi_cat":
            values.append(psi_cat64(ref, live))
        else:
            values.append(ks64(ref, live))
    return {"values": np.array(values, dtype=np.float64)}


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    if case.params["op"] == "alerts":
        return compare_arrays("alert states", outputs["states"], want["states"], 0.0, 0.0, expect_type=np.ndarray)
    tol = ctx.tolerances[case.params["op"]]
    return compare_arrays("values per batch (NaN: no value)", outputs["values"], want["values"], tol.atol, tol.rtol,
                          expect_type=np.ndarray)
