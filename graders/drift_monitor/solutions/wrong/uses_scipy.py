# WRONG(rejected): imports scipy; only the standard library is allowed
"""drift_monitor, known wrong: scipy's KS."""

from scipy.stats import ks_2samp


def ks_statistic(reference, live):
    a = [v for v in reference if v is not None]
    b = [v for v in live if v is not None]
    return float(ks_2samp(a, b).statistic) if a and b else None
