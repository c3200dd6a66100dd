"""Correct, written another way: collections.Counter for the bins, a KS over the distinct values
of both samples with bisect for each CDF, and the alert as an explicit two-state machine."""

import math
from bisect import bisect_right
from collections import Counter


def _score(ref_bins, live_bins, keys):
    nr, nl = sum(ref_bins.values()), sum(live_bins.values())
    terms = []
    for key in keys:
        p = max(ref_bins.get(key, 0) / nr, 1e-4)
        q = max(live_bins.get(key, 0) / nl, 1e-4)
        terms.append((q - p) * math.log(q / p))
    return math.fsum(terms)


def psi(reference, live, edges):
    if len(reference) == 0 or len(live) == 0:
        return None
    label = lambda v: "missing" if v is None else bisect_right(edges, v)   # noqa: E731
    keys = list(range(len(edges) + 1)) + ["missing"]
    return _score(Counter(map(label, reference)), Counter(map(label, live)), keys)


def psi_categorical(reference, live):
    if len(reference) == 0 or len(live) == 0:
        return None
    known = set(v for v in reference if v is not None)
    label = lambda v: "missing" if v is None else (v if v in known else "other")   # noqa: E731
    keys = sorted(known) + ["other", "missing"]
    return _score(Counter(map(label, reference)), Counter(map(label, live)), keys)


def ks_statistic(reference, live):
    a = sorted(x for x in reference if x is not None)
    b = sorted(x for x in live if x is not None)
    if not a or not b:
        return None
    best = 0.0
    for x in sorted(set(a) | set(b)):
        best = max(best, abs(bisect_right(a, x) / len(a) - bisect_right(b, x) / len(b)))
    return best


def alerts(values, high, low, k_on, m_off):
    state = "off"
    count = 0
    result = []
    for v in values:
        if v is None:
            result.append(state == "on")
            continue
        if state == "off":
            count = count + 1 if v > high else 0
            if count == k_on:
                state, count = "on", 0
        else:
            count = count + 1 if v < low else 0
            if count == m_off:
                state, count = "off", 0
        result.append(state == "on")
    return result
