# WRONG(rejected): imports numpy (importable in this pack's sandbox); only the standard library is allowed
"""drift_monitor, known wrong: numpy's searchsorted for the KS statistic."""

import numpy as np


def ks_statistic(reference, live):
    a = np.sort([v for v in reference if v is not None])
    b = np.sort([v for v in live if v is not None])
    if not a.size or not b.size:
        return None
    at = np.concatenate([a, b])
    return float(np.abs(np.searchsorted(a, at, "right") / a.size - np.searchsorted(b, at, "right") / b.size).max())
