"""Correct, written another way (after the drift branch's exact_fractions_dedup_edges): fixed-size
count lists, PSI as a plain sum of (q - p)(ln q - ln p), KS from running integer counts over the
distinct pooled values, kept exact as |i * m - j * n| / (n * m), and the alert as a generator."""

import math
from bisect import bisect_right
from collections import Counter
from fractions import Fraction


def shares(counts):
    total = sum(counts)
    return [max(c / total, 1e-4) for c in counts]          # one division each, then the floor


def psi_of(ref_counts, live_counts):
    return sum((q - p) * (math.log(q) - math.log(p)) for p, q in zip(shares(ref_counts), shares(live_counts)))


def psi(reference, live, edges):
    if len(reference) == 0 or len(live) == 0:
        return None
    missing = len(edges) + 1                                # value bins 0..len(edges), then missing

    def counts(values):
        out = [0] * (len(edges) + 2)
        for v in values:
            out[missing if v is None else bisect_right(edges, v)] += 1
        return out
    return psi_of(counts(reference), counts(live))


def psi_categorical(reference, live):
    if len(reference) == 0 or len(live) == 0:
        return None
    order = {}
    for v in reference:
        if v is not None and v not in order:
            order[v] = len(order)                          # first-seen order: any fixed order will do
    other, missing = len(order), len(order) + 1

    def counts(values):
        out = [0] * (len(order) + 2)
        for v in values:
            out[missing if v is None else order.get(v, other)] += 1
        return out
    return psi_of(counts(reference), counts(live))


def ks_statistic(reference, live):
    a = Counter(v for v in reference if v is not None)
    b = Counter(v for v in live if v is not None)
    n, m = sum(a.values()), sum(b.values())
    if n == 0 or m == 0:
        return None
    i = j = best = 0
    for x in sorted(a.keys() | b.keys()):
        i += a[x]                                           # every tie at x in both before comparing
        j += b[x]
        best = max(best, abs(i * m - j * n))
    return float(Fraction(best, n * m))


def _states(values, high, low, k_on, m_off):
    on, streak = False, 0
    for v in values:
        if v is not None:
            streak = streak + 1 if (v < low if on else v > high) else 0
            if streak == (m_off if on else k_on):
                on, streak = not on, 0
        yield on


def alerts(values, high, low, k_on, m_off):
    return list(_states(values, high, low, k_on, m_off))
