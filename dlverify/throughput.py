"""CPU throughput: the submission and the reference timed on the same inputs, in the same run.

Times come from the host's clock: the gap between a bench call's start and
end frames as they arrived on the channel. The child's own timer is kept only
as a cross-check, so a patched timer inside the child changes nothing. Every
timed call gets a fresh input set, and every one of its outputs is checked, so
caching or skipping work is a failure, not a speed-up.
"""

from __future__ import annotations

import statistics
from typing import Callable

from .isolation.launcher import RunEvidence
from .jobs import Job, codec
from .outcome import CaseStatus
from .packs import GraderContext, Pack
from .result import CaseResult, GradeResult, Throughput


def _timed_calls(frames) -> dict[tuple[str, int], tuple[float, float, bytes, float | None]]:
    """(bench name, index) -> (host seconds, start time, payload, child seconds)."""
    starts, calls = {}, {}
    for frame in frames:
        header = frame.header
        key = (header.get("name"), header.get("index"))
        if header.get("event") == "bench_start":
            starts[key] = frame.arrived
        elif header.get("event") == "bench_end" and key in starts:
            child = header.get("child_seconds")
            calls[key] = (frame.arrived - starts[key], starts[key], frame.payload,
                          float(child) if isinstance(child, (int, float)) else None)
    return calls


def score_from_speedup(speedup: float) -> float:
    """1.0 at the reference's speed or better, falling linearly to 0 at 4x slower (see the READMEs)."""
    if speedup >= 1.0:
        return 1.0
    return round(max(0.0, (speedup - 0.25) / 0.75), 4)


def measure_throughput(job: Job, pack: Pack, ctx: GraderContext, runs: list[RunEvidence],
                       run_reference: Callable[[], RunEvidence], result: GradeResult) -> Throughput:
    from .engine import judge

    device = ctx.device
    figure = Throughput(device=device, indicative=device == "cpu")
    calls = _timed_calls([f for run in runs for f in run.frames])
    expected_calls = [(b, i) for b in job.benches for i in range(len(b.pool))]
    missing = [f"{b.case.name}[{i}]" for b, i in expected_calls if (b.case.name, i) not in calls]
    if missing:
        figure.note = f"not measured: timed call(s) {', '.join(missing[:3])} did not complete"
        return figure
    for bench, i in expected_calls:
        outputs = codec().loads(calls[(bench.case.name, i)][2], pack.exercise.io)
        check = judge(pack, ctx, bench.case, bench.pool[i], outputs)
        if not check.ok:
            result.cases.append(CaseResult(f"{bench.case.name}[{i}]", CaseStatus.FAILED,
                                           "wrong answer on a timed (benchmark) input: " + check.message))
            figure.note = "not scored: a timed call gave a wrong answer"
            return figure
    reference = _timed_calls(run_reference().frames)
    if any((b.case.name, i) not in reference for b, i in expected_calls):
        figure.note = "not measured: the reference did not complete its timed calls (grader fault)"
        return figure
    sub = statistics.median(calls[k][0] for k in [(b.case.name, i) for b, i in expected_calls])
    ref = statistics.median(reference[k][0] for k in [(b.case.name, i) for b, i in expected_calls])
    child_times = [calls[(b.case.name, i)][3] for b, i in expected_calls]
    figure.runs = len(expected_calls)
    figure.submission_seconds = round(sub, 6)
    figure.reference_seconds = round(ref, 6)
    figure.speedup = round(ref / sub, 4) if sub > 0 else None
    figure.score = score_from_speedup(figure.speedup) if figure.speedup else None
    if all(t is not None for t in child_times):
        figure.child_seconds = round(statistics.median(child_times), 6)
    figure.note = ("indicative: CPU timings on a shared machine, host-clocked, median of "
                   f"{figure.runs} calls on distinct inputs" if device == "cpu" else
                   f"median of {figure.runs} calls on distinct inputs")
    return figure
