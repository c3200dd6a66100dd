"""Throughput: the submission and the reference timed on the same fresh inputs, in the same run.

CPU (indicative): times come from the host's clock, the gap between a timed
call's start and end frames as they arrived on the channel. The child's own
timer is kept only as a cross-check, so a patched timer inside the child
changes nothing. Every timed call gets a pool slot of its own after an
untimed warm-up on slot 0, and every one of its outputs is checked, so
caching or skipping work is a failure, not a speed-up.

GPU: CUDA events in the worker, bounded from below by the host-clocked
window, outputs committed by digest and a sample the runner draws afterwards
checked; see sandbox/gpu_timing.py, dlverify/gpu/measure.py and
docs/THROUGHPUT.md.
"""

from __future__ import annotations

import statistics
from typing import Callable

from ..gpu import harness
from ..gpu.score import cpu_score
from ..isolation.launcher import RunEvidence
from ..launch.jobs import Job, codec
from .judge import judge
from ..outcome import CaseStatus
from ..packs.loading import GraderContext, Pack
from ..report.result import CaseResult, GradeResult, Throughput

# The child's timer below this fraction of the host's clock is worth a note (never a better figure).
CHILD_TIMER_DISAGREES = 0.5


def timed_slots(pool_size: int) -> list[int]:
    """Pool slots that timed calls use (slot 0 is the warm-up's): the child's rule, loaded by path."""
    return harness().timed_slots(pool_size)


def score_from_speedup(speedup: float) -> float:
    """1.0 at the reference's speed or better, falling linearly to 0 at 4x slower (see the READMEs)."""
    return cpu_score(speedup)


def host_clocked_calls(frames) -> dict[tuple[str, int], tuple[float, float, bytes, float | None]]:
    """(bench name, slot) -> (host seconds, start time, payload, child seconds), from frame arrival times."""
    starts, calls = {}, {}
    for frame in frames:
        header = frame.header
        key = (header.get("name"), header.get("index"))
        if header.get("event") == "bench_start":
            starts[key] = frame.arrived
        elif header.get("event") == "bench_end" and key in starts and key not in calls:
            child = header.get("child_seconds")
            calls[key] = (frame.arrived - starts[key], starts[key], frame.payload,
                          float(child) if isinstance(child, (int, float)) and not isinstance(child, bool) else None)
    return calls


def bench_errors(frames, job: Job) -> dict[str, tuple[CaseStatus, str]]:
    """Bench cases whose calls raised: name -> (status, message), from case_error frames naming one."""
    names = {b.case.name for b in job.benches}
    errors: dict[str, tuple[CaseStatus, str]] = {}
    for frame in frames:
        header = frame.header
        if header.get("event") == "case_error" and header.get("name") in names:
            status = CaseStatus.MEMORY if header.get("kind") == "memory" else CaseStatus.FAILED
            errors.setdefault(header["name"], (status, str(header.get("message", ""))[:2000]))
    return errors


def measure_host_clocked(job: Job, pack: Pack, ctx: GraderContext, runs: list[RunEvidence],
                         run_reference: Callable[[], RunEvidence], result: GradeResult) -> Throughput:
    device = ctx.device
    figure = Throughput(device=device, indicative=device == "cpu")
    frames = [f for run in runs for f in run.frames]
    for name, (status, message) in bench_errors(frames, job).items():
        result.cases.append(CaseResult(name, status, "raised on a timed (benchmark) input: " + message))
        figure.note = f"not scored: {name} raised on a timed input"
        return figure
    calls = host_clocked_calls(frames)
    expected_calls = [(b, i) for b in job.benches for i in timed_slots(b.slots)]
    missing = [f"{b.case.name}[{i}]" for b, i in expected_calls if (b.case.name, i) not in calls]
    if missing:
        figure.note = f"not measured: timed call(s) {', '.join(missing[:3])} did not complete"
        return figure
    for bench, i in expected_calls:
        try:
            outputs = codec().loads(calls[(bench.case.name, i)][2], pack.exercise.io)
        except Exception as exc:  # noqa: BLE001 - untrusted bytes
            message = f"outputs of a timed call could not be read as data: {type(exc).__name__}"
        else:
            check = judge(pack, ctx, bench.case, bench.host_inputs(i), outputs)
            message = None if check.ok else "wrong answer on a timed (benchmark) input: " + check.message
        if message:
            result.cases.append(CaseResult(f"{bench.case.name}[{i}]", CaseStatus.FAILED, message))
            figure.note = "not scored: a timed call gave a wrong answer"
            return figure
    reference = host_clocked_calls(run_reference().frames)
    if any((b.case.name, i) not in reference for b, i in expected_calls):
        figure.note = "not measured: the reference did not complete its timed calls (grader fault)"
        return figure
    keys = [(b.case.name, i) for b, i in expected_calls]
    figure_from_host_clock(figure, [calls[k][0] for k in keys], [reference[k][0] for k in keys],
                           [calls[k][3] for k in keys])
    return figure


def figure_from_host_clock(figure: Throughput, host: list[float], reference: list[float],
                           child: list[float | None]) -> Throughput:
    """Medians of host-clocked seconds; the child's own timer is recorded and never used for the figure."""
    sub = statistics.median(host)
    ref = statistics.median(reference)
    figure.runs = len(host)
    figure.submission_seconds = round(sub, 6)
    figure.reference_seconds = round(ref, 6)
    figure.speedup = round(ref / sub, 4) if sub > 0 else None
    figure.score = score_from_speedup(figure.speedup) if figure.speedup else None
    notes = []
    if all(t is not None for t in child):
        figure.child_seconds = round(statistics.median(child), 6)
        if figure.child_seconds < CHILD_TIMER_DISAGREES * sub:
            notes.append(f"the child's own timer said {figure.child_seconds * 1e3:.2f} ms per call, far less "
                         "than the host's clock: the host's figure is used")
    notes.append(("indicative: CPU timings on a shared machine, host-clocked, " if figure.indicative else
                  "host-clocked, ") + f"median of {figure.runs} calls on distinct inputs after a warm-up call")
    figure.note = "; ".join(notes)
    return figure
