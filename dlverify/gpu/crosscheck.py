"""The per-call time the host reports: the child's CUDA events, bounded from below by the host's clock.

The child's events are precise but the child is not trusted: candidate code
runs in that process and can patch torch.cuda.Event.elapsed_time or
time.perf_counter, or launch its work on a side stream the events never see.
The host clocks the whole timed window itself (arrival of the
gpu_bench_start and gpu_bench_end frames), and knows from a trusted
calibration run how long the harness's own work in that window takes (L2
flushes, digests, synchronisations). So

    host floor = (window - allowance) / calls

is a lower bound on the real mean time per call that the child cannot
shrink. It is held against the mean of the event times (both cover every
call, outliers included), and the reported figure is

    per call = median of the event times                      if floor <= event mean
             = median of the event times x floor / event mean  otherwise

so an honest run, whose floor sits below its event mean because the
allowance covers the harness, gets the precise (median) event figure, and a
run whose timer under-reports gets its events scaled up to what the host's
clock allows: a timer patched to say 0 gets the floor itself. A gap beyond
what the harness's own jitter explains is flagged suspicious.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

ALLOWANCE_MARGIN = 1.10     # the calibration's harness cost, plus 10% for the child's extra Python
ALLOWANCE_FIXED_S = 0.001   # plus frames, pipes and the reader thread's wake-up, once per window
SUSPICIOUS_RATIO = 1.25     # floor > 1.25 x event mean: more than jitter can explain


@dataclass(frozen=True)
class CrossChecked:
    seconds: float            # the figure used, per call
    source: str               # "events" | "host"
    event_median: float       # what the child's events said, per call
    event_mean: float
    host_floor: float | None  # the host's lower bound on the mean per call
    suspicious: bool

    def to_dict(self) -> dict:
        return asdict(self)


def allowance(calibration_window: float, margin: float = ALLOWANCE_MARGIN, fixed: float = ALLOWANCE_FIXED_S) -> float:
    """Seconds of a window that are the harness's own work, from a trusted run of the same loop with a no-op call."""
    return margin * max(0.0, calibration_window) + fixed


def cross_check(event_seconds: list[float], window: float | None, harness_seconds: float,
                suspicious_ratio: float = SUSPICIOUS_RATIO) -> CrossChecked:
    """The per-call figure from the child's event times and the host-clocked window (both for the same calls)."""
    if not event_seconds:
        raise ValueError("no timed calls")
    median = statistics.median(event_seconds)
    mean = statistics.fmean(event_seconds)
    if window is None:
        return CrossChecked(median, "events", median, mean, None, False)
    floor = max(0.0, (window - harness_seconds) / len(event_seconds))
    if floor > mean:
        scaled = median * floor / mean if mean > 0 else floor
        return CrossChecked(scaled, "host", median, mean, floor, floor > suspicious_ratio * mean)
    return CrossChecked(median, "events", median, mean, floor, False)
