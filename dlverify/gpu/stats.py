"""Summaries of repeated timings, and the rule for when to stop repeating.

The stopping rule itself lives in sandbox/gpu_timing.py, because the child
applies it while it runs; the host uses that same definition (loaded by path)
when it times trusted code, and recomputes every summary here from the raw
per-call figures rather than taking the child's word for them.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from . import harness


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    mean: float
    stdev: float
    sem: float          # standard error of the mean: stdev / sqrt(n)
    rel_sem: float      # sem / mean
    minimum: float
    maximum: float

    def to_dict(self) -> dict[str, float]:
        return {"n": self.n, "median": self.median, "mean": self.mean, "stdev": self.stdev, "sem": self.sem,
                "rel_sem": self.rel_sem, "min": self.minimum, "max": self.maximum}


def summarize(values: list[float]) -> Summary:
    if not values:
        raise ValueError("no values to summarise")
    n = len(values)
    mean = statistics.fmean(values)
    stdev = statistics.stdev(values) if n > 1 else 0.0
    sem = stdev / math.sqrt(n) if n > 1 else math.inf
    return Summary(n, statistics.median(values), mean, stdev, sem, relative_sem(values), min(values), max(values))


def relative_sem(values: list[float]) -> float:
    return harness().relative_sem(list(values))


def stop_reason(values: list[float], elapsed: float, left: int, **rule) -> str | None:
    """None to go on, else "precise" (rel. SEM below target), "pool" (no fresh input left) or "time"."""
    return harness().stop_reason(list(values), elapsed, left, **rule)


def spread(figures: list[float]) -> float:
    """(max - min) / median: how far repeated measurements of one thing disagree."""
    if not figures:
        raise ValueError("no figures")
    middle = statistics.median(figures)
    return (max(figures) - min(figures)) / middle if middle > 0 else math.inf


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    if not values or any(v <= 0 for v in values):
        return None
    return math.exp(statistics.fmean(math.log(v) for v in values))
