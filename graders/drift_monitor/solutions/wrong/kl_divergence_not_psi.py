# WRONG(failed): sums q * ln(q / p), the one-sided KL divergence, instead of (q - p) * ln(q / p)
"""drift_monitor, known wrong: sums q * ln(q / p), the one-sided KL divergence, instead of (q - p) * ln(q / p)."""

import bisect
import math

FLOOR = 1e-4


def _psi(ref_counts, live_counts):
    n_ref, n_live = sum(ref_counts), sum(live_counts)
    total = []
    for r, l in zip(ref_counts, live_counts):
        p, q = max(r / n_ref, FLOOR), max(l / n_live, FLOOR)
        total.append(q * math.log(q / p))
    return math.fsum(total)


def psi(reference, live, edges):
    if not live or not reference:
        return None
    def counts(values):
        c = [0] * (len(edges) + 2)                       # len(edges) + 1 bins, then missing
        for v in values:
            c[-1 if v is None else bisect.bisect_right(edges, v)] += 1
        return c
    return _psi(counts(reference), counts(live))


def psi_categorical(reference, live):
    if not live or not reference:
        return None
    seen = sorted({v for v in reference if v is not None})
    index = {c: i for i, c in enumerate(seen)}
    def counts(values):
        c = [0] * (len(seen) + 2)                        # each seen category, other, missing
        for v in values:
            c[-1 if v is None else index.get(v, len(seen))] += 1
        return c
    return _psi(counts(reference), counts(live))


def ks_statistic(reference, live):
    a = sorted(v for v in reference if v is not None)
    b = sorted(v for v in live if v is not None)
    if not a or not b:
        return None
    i = j = 0
    d = 0.0
    while i < len(a) and j < len(b):
        x = min(a[i], b[j])
        while i < len(a) and a[i] == x:                  # every tie at x before comparing
            i += 1
        while j < len(b) and b[j] == x:
            j += 1
        d = max(d, abs(i / len(a) - j / len(b)))
    return d


def alerts(values, high, low, k_on, m_off):
    on, run, states = False, 0, []
    for v in values:
        if v is not None:
            if (not on and v > high) or (on and v < low):
                run += 1
                if run >= (m_off if on else k_on):
                    on, run = not on, 0
            else:
                run = 0
        states.append(on)
    return states
