"""GPU throughput, host side: check what the child's timed phase proves, then turn it into figures.

Per bench case, from the child's frames (sandbox/gpu_timing.py):

1. the timed phase completed and its report is well formed;
2. the calls the runner drew after the report (with randomness the worker
   cannot see) came back, match the digests committed before the draw, and
   are right;
3. per-call time = max(child's event median, host floor) (crosscheck.py),
   where the floor comes from the host-clocked window less the harness's
   own cost, measured here by running the same loop with a no-op call;
4. the reference (another sandbox child, same inputs) and torch's own
   implementation (baselines.py, in this process, same inputs, same loop)
   are timed the same way;
5. GB/s, TFLOP/s, fraction of the measured speed of light (sol.py), vs
   torch, vs the reference; the exercise's score (score.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..report import phases
from ..launch.jobs import Job, PlannedBench, codec
from ..judging.judge import judge
from ..outcome import CaseStatus
from ..packs.loading import GraderContext, Pack
from ..report.result import CaseResult, GradeResult, Throughput
from . import harness
from .crosscheck import CrossChecked, allowance, cross_check
from .score import RULES, gpu_score
from .stats import geomean, summarize
from .reference_cache import ReferenceCache
from .trusted import _prepare_like_the_worker, calibrate, driver_splits_call, time_torch  # noqa: F401
from .workload import Work, workload

MAX_CALL_SECONDS = 600.0   # a per-call time above this is not a measurement


@dataclass
class GpuRun:
    """One bench case's frames from one child, as they arrived (untrusted until checked)."""

    name: str
    start: dict | None = None
    started: float | None = None     # host clock: arrival of gpu_bench_start
    end: dict | None = None
    ended: float | None = None       # host clock: arrival of gpu_bench_end
    drawn: list | None = None        # the calls the runner drew for checking
    outputs: dict[int, bytes] = field(default_factory=dict)
    error: dict | None = None

    @property
    def window(self) -> float | None:
        return None if self.started is None or self.ended is None else self.ended - self.started


def parse_runs(frames) -> dict[str, GpuRun]:
    runs: dict[str, GpuRun] = {}
    for frame in frames:
        header = frame.header
        event, name = header.get("event"), header.get("name")
        if event not in ("gpu_bench_start", "gpu_bench_end", "gpu_bench_drawn", "bench_output", "case_error") \
                or not isinstance(name, str):
            continue
        run = runs.setdefault(name, GpuRun(name))
        if event == "gpu_bench_start" and run.start is None:
            run.start, run.started = header, frame.arrived
        elif event == "gpu_bench_end" and run.start is not None and run.end is None:
            run.end, run.ended = header, frame.arrived
        elif event == "gpu_bench_drawn" and run.end is not None and run.drawn is None:
            run.drawn = header.get("indices")
        elif event == "bench_output" and run.drawn is not None:
            index = header.get("index")
            if isinstance(index, int) and index not in run.outputs:
                run.outputs[index] = frame.payload
        elif event == "case_error" and run.error is None:
            run.error = header
    return runs


def report_problem(run: GpuRun | None, limit: int) -> tuple[str, str] | None:
    """(kind, message) when the run's report cannot be used; "failed" and "memory" are the submission's doing."""
    if run is None or (run.start is None and run.error is None):
        return "missing", "the timed phase did not start"
    if run.error is not None:
        kind = "memory" if run.error.get("kind") == "memory" else "failed"
        return kind, "raised on a timed (benchmark) input: " + str(run.error.get("message", ""))[:2000]
    if run.end is None:
        return "missing", "the timed phase did not complete"
    seconds, digests = run.end.get("seconds"), run.end.get("digests")
    if not isinstance(seconds, list) or not isinstance(digests, list) or len(seconds) != len(digests):
        return "failed", "malformed timing report (event times and digests do not pair up)"
    if not 1 <= len(seconds) <= limit:
        return "failed", f"malformed timing report: {len(seconds)} timed calls for {limit} fresh inputs"
    if not all(isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) and 0 < s < MAX_CALL_SECONDS
               for s in seconds):
        return "failed", "malformed timing report: an event time is not a positive number of seconds"
    return None


def check_revealed(run: GpuRun, bench: PlannedBench, indices: list[int], pack: Pack, ctx: GraderContext,
                   *, judge_outputs: bool = True) -> tuple[str | None, dict | None]:
    """(problem, one set of outputs): every drawn call came back, matches its digest, and is right."""
    H = harness()
    slots = H.timed_slots(bench.slots)
    sample = None
    for i in indices:
        payload = run.outputs.get(i)
        if payload is None:
            return f"did not hand back the outputs of timed call {i} when asked", None
        try:
            outputs = codec().loads(payload, pack.exercise.io)
        except Exception as exc:  # noqa: BLE001 - untrusted bytes
            return f"outputs of timed call {i} could not be read as data: {type(exc).__name__}", None
        if H.digest(outputs) != run.end["digests"][i]:
            return (f"the outputs of timed call {i} differ from the digest committed during the timed phase "
                    "(the work was not done when it was timed)"), None
        if judge_outputs:
            check = judge(pack, ctx, bench.case, bench.host_inputs(slots[i]), outputs)
            if not check.ok:
                return f"wrong answer on timed call {i}: {check.message}", None
        sample = sample if sample is not None else outputs
    return None, sample


# ----------------------------------------------------------------------------- the whole measurement

def measure_gpu(job: Job, pack: Pack, ctx: GraderContext, runs, run_reference: Callable, result: GradeResult,
                *, speed_of_light: Callable | None = None, clock=None, device: str = "cuda",
                reference_cache: ReferenceCache | None | bool = True) -> Throughput:
    """The GPU figures of one grading run. Tests pass a CPU clock and device to drive it without a GPU.

    reference_cache: True for this runner's (reference_cache.py), False for none, or one to use."""
    figure = Throughput(device=device, indicative=device != "cuda")
    frames = [f for run in runs for f in run.frames]
    sub = parse_runs(frames)
    if not any(r.start is not None for r in sub.values()) and any(f.header.get("event") == "bench_end" for f in frames):
        from ..judging.throughput import measure_host_clocked

        # A child without the GPU harness (old child.py): host-clocked calls, copies included.
        figure = measure_host_clocked(job, pack, ctx, runs, run_reference, result)
        figure.note = "host-clocked per call, copies to and from the device included (no CUDA events); " + figure.note
        return figure

    H = harness()
    exercise_id = pack.exercise.id
    checked: dict[str, tuple[GpuRun, dict]] = {}
    for bench in job.benches:
        name = bench.case.name
        run = sub.get(name)
        problem = report_problem(run, len(H.timed_slots(bench.slots)))
        if problem:
            kind, message = problem
            if kind in ("failed", "memory"):
                status = CaseStatus.MEMORY if kind == "memory" else CaseStatus.FAILED
                result.cases.append(CaseResult(name, status, message))
                figure.note = f"not scored: {name}: {message.splitlines()[0][:200]}"
            else:
                figure.note = f"not measured: {name}: {message}"
            return figure
        indices = drawn_calls(run)
        if indices is None:
            figure.note = f"not measured: {name}: no calls were drawn for checking"
            return figure
        with phases.timed(result.phases, "checks"):
            problem, sample = check_revealed(run, bench, indices, pack, ctx)
        if problem:
            result.cases.append(CaseResult(name, CaseStatus.FAILED, problem))
            figure.note = f"not scored: {name}: {problem[:200]}"
            return figure
        checked[name] = (run, sample)

    cache = ReferenceCache.for_device(pack, device) if reference_cache is True else reference_cache or None
    kept = {b.case.name: cache.get(b) for b in job.benches} if cache else {}
    notes: list[str] = []
    if kept and all(kept.values()):
        ref_runs = {}   # every case's reference figure is in this runner's cache: no second sandbox
        when = min(measured for _, measured in kept.values())
        notes.append(f"the reference's figures are this runner's, measured {when} (reference_cache.py)")
    else:
        ref_runs, kept = parse_runs(run_reference().frames), {}
    try:
        sol = (speed_of_light or _speed_of_light)()
    except Exception as exc:  # noqa: BLE001 - a missing ceiling costs the SOL fraction, not the run
        sol = None
        notes.append(f"speed of light not measured ({type(exc).__name__}: {exc})")
    clock = clock or H.CudaClock()
    triton_digest = H.needs_triton_digest(pack.exercise.rules.forbidden_ops)
    # Without bench_call the driver's run() hands its outputs back on the host, and the worker
    # digests them there (numpy over every byte, each call): calibrating with them on the device
    # would leave that cost out of the allowance and flag honest runs as suspicious.
    outputs_at = device if driver_splits_call(exercise_id) else "cpu"
    cases = []
    for bench in job.benches:
        name = bench.case.name
        run, sample = checked[name]
        calls = len(run.end["seconds"])
        with phases.timed(result.phases, "calibration"):
            calibration = calibrate(sample, calls, clock, outputs_at, use_triton=triton_digest,
                                    rules=pack.exercise.rules,
                                    make_inputs=_prepare_like_the_worker(pack, ctx, bench, device) if bench.seeds else None)
        harness_s = allowance(calibration)
        mine = cross_check(run.end["seconds"], run.window, harness_s)
        if name in kept:
            ref = kept[name][0]
        else:
            ref = _reference_figure(ref_runs.get(name), bench, job, pack, ctx, harness_s, notes)
            if ref is not None and cache is not None:
                cache.put(bench, ref)
        try:
            with phases.timed(result.phases, "torch_baseline"):
                torch_seconds, torch_label = time_torch(exercise_id, bench, ctx, clock, device, calls)
        except Exception as exc:  # noqa: BLE001
            torch_seconds, torch_label = [], ""
            notes.append(f"{name}: torch baseline not measured ({type(exc).__name__}: {str(exc)[:200]})")
        figures = case_figures(exercise_id, bench, run, mine, ref, torch_seconds, torch_label, sol)
        # what the allowance has to cover, for tightening it from real runs (docs/THROUGHPUT.md)
        figures.update(window=run.window, calibration=calibration, events_total=sum(run.end["seconds"]),
                       exact=bool(run.start.get("exact")))
        cases.append(figures)
    return summarize_cases(figure, exercise_id, cases, notes)


def _speed_of_light():
    from .sol import speed_of_light

    return speed_of_light("cuda")


def drawn_calls(run: GpuRun) -> list[int] | None:
    """The runner's draw, if it is one: distinct calls of this run, as many as the rule says."""
    calls = len(run.end["seconds"])
    drawn = run.drawn
    if not isinstance(drawn, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in drawn):
        return None
    if len(set(drawn)) != len(drawn) or any(not 0 <= i < calls for i in drawn):
        return None
    if len(drawn) != min(harness().REVEALED_CALLS, calls):
        return None
    return drawn


def _reference_figure(run: GpuRun | None, bench: PlannedBench, job: Job, pack: Pack, ctx: GraderContext,
                      harness_s: float, notes: list[str]) -> CrossChecked | None:
    problem = report_problem(run, len(harness().timed_slots(bench.slots)))
    if problem:
        notes.append(f"{bench.case.name}: the reference was not timed ({problem[1][:200]}; grader fault)")
        return None
    indices = drawn_calls(run)
    if indices is None:
        notes.append(f"{bench.case.name}: the reference's run drew no calls to check (grader fault)")
        return None
    problem, _ = check_revealed(run, bench, indices, pack, ctx, judge_outputs=False)
    if problem:
        notes.append(f"{bench.case.name}: the reference's timed calls did not verify ({problem[:200]}; grader fault)")
        return None
    return cross_check(run.end["seconds"], run.window, harness_s)


def case_figures(exercise_id: str, bench: PlannedBench, run: GpuRun, mine: CrossChecked, ref: CrossChecked | None,
                 torch_seconds: list[float], torch_label: str, sol) -> dict[str, Any]:
    work: Work = workload(exercise_id, bench.case.params)
    seconds = mine.seconds
    stats = summarize(run.end["seconds"])
    torch_median = summarize(torch_seconds).median if torch_seconds else None
    ceiling = sol.ceiling(work) if sol else None
    sheet = sol.datasheet_ceiling(work) if sol else None
    achieved = work.bytes / seconds / 1e9 if work.bound == "memory" else work.flops / seconds / 1e12
    return {
        "case": bench.case.name, "shape": work.shape, "dtype": work.dtype, "bound": work.bound,
        "bytes": work.bytes, "flops": work.flops, "calls": stats.n, "stop": run.end.get("stop"),
        "seconds": seconds, "source": mine.source, "suspicious": mine.suspicious,
        "events": stats.to_dict(), "host_floor": mine.host_floor,
        "gbps": work.bytes / seconds / 1e9, "tflops": work.flops / seconds / 1e12,
        "steps_per_second": work.steps / seconds if work.steps else None,
        "sol_fraction": achieved / ceiling if ceiling else None,
        "datasheet_fraction": achieved / sheet if sheet else None,
        "reference_seconds": ref.seconds if ref else None,
        "vs_reference": ref.seconds / seconds if ref else None,
        "torch_seconds": torch_median, "torch": torch_label or None,
        "vs_torch": torch_median / seconds if torch_median else None,
    }


def summarize_cases(figure: Throughput, exercise_id: str, cases: list[dict], notes: list[str]) -> Throughput:
    """One Throughput for all bench cases: sums of times and work, geometric means of the ratios."""
    total = sum(c["seconds"] for c in cases)
    figure.runs = sum(c["calls"] for c in cases)
    figure.submission_seconds = round(total, 9)
    refs = [c["reference_seconds"] for c in cases]
    figure.reference_seconds = round(sum(refs), 9) if all(r is not None for r in refs) else None
    figure.speedup = _round(geomean([c["vs_reference"] for c in cases]))
    figure.vs_torch = _round(geomean([c["vs_torch"] for c in cases]))
    figure.sol_fraction = _round(geomean([c["sol_fraction"] for c in cases]))
    figure.gbps = _round(sum(c["bytes"] for c in cases) / total / 1e9)
    figure.tflops = _round(sum(c["flops"] for c in cases) / total / 1e12)
    figure.child_seconds = round(sum(c["events"]["median"] for c in cases), 9)
    figure.score = gpu_score(exercise_id, figure.sol_fraction, figure.vs_torch)
    if hasattr(figure, "per_case"):  # result.Throughput.per_case (docs/THROUGHPUT.md)
        figure.per_case = cases
    corrected = [c["case"] for c in cases if c["source"] == "host"]
    if corrected:
        suspicious = any(c["suspicious"] for c in cases)
        notes.insert(0, ("suspicious: " if suspicious else "") + "the child's timer reported less time than the "
                     f"host's clock allows on {', '.join(corrected)}: the host's figure is used")
    rule = RULES.get(exercise_id)
    parts = [f"{c['case']}: {c['shape']}, {c['calls']} calls ({c['stop']}), "
             + (f"{c['gbps']:.4g} GB/s" if c["bound"] == "memory" else f"{c['tflops']:.4g} TFLOP/s")
             + (f", {c['sol_fraction']:.3g} of SOL" if c["sol_fraction"] else "")
             + (f", {c['vs_torch']:.2f}x {rule.torch_is if rule else 'torch'}" if c["vs_torch"] else "")
             for c in cases]
    figure.note = "; ".join(notes + parts)
    return figure


def _round(value: float | None, digits: int = 4) -> float | None:
    """To `digits` significant digits (figures span 1e-4 GB/s on a CPU to 1e3 TFLOP/s)."""
    return None if value is None else float(f"{value:.{digits}g}")
