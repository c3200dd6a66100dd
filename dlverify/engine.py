"""Grading one submission end to end, in the host.

    static checks -> job folder -> sandbox child (relaunched past a dead case)
    -> outputs read as data -> compared with the trusted answer -> throughput
    -> one GradeResult

The host never imports the submission. It compares on its own copy of the
inputs, times calls with its own clock, and builds every field of the result.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from . import paths
from .report import phases
from .errors import GraderFault, UsageError
from .judging.judge import judge
from .packs.cases import new_run_secret
from .isolation.docker import choose_launcher
from .isolation.launcher import LaunchSpec, RunEvidence, SandboxUnavailable
from .launch.jobs import Job, build_job, codec, with_submission
from .screening.entry_points import missing_names
from .packs.manifest import Exercise
from .submission.notebook_lines import result_to_cells
from .outcome import CaseStatus, Status, case_count
from .packs.loading import GraderContext, Pack, load_pack
from .submission.parsing import parse_source
from .packs.registry import get_exercise
from .report.result import CaseResult, GradeResult, NotVerified
from .screening.introspection import violations as introspection_violations
from .screening.static_rules import violations as static_violations
from .submission.read import Submission, read_submission, syntax_error
from .judging.throughput import measure_host_clocked
from .judging.evidence import death, overall
from .launch.environment import child_env, device_info, resolve_device, versions, now_iso
from .launch.gpus import GpuChoiceError, on_gpu, physical_gpu

MAX_LAUNCHES = 4  # the first run plus up to three relaunches past dead cases

Progress = Callable[[str], None]
Launcher = Callable[[LaunchSpec], RunEvidence]


def _quiet(_: str) -> None:
    pass


def grade(exercise_id: str, submission_path: Path | str, *, device: str = "auto", sandbox: str = "auto",
          gpu: int | None = None, throughput: bool = True, progress: Progress | None = None,
          secret: int | None = None) -> GradeResult:
    progress = progress or _quiet
    if sandbox not in ("auto", "local", "docker"):
        raise UsageError(f"--sandbox must be auto, local or docker, not {sandbox!r}")
    exercise = get_exercise(exercise_id)
    submission = read_submission(Path(submission_path))
    device = resolve_device(device, exercise)
    try:
        physical = physical_gpu(gpu) if device == "cuda" else None
    except GpuChoiceError as exc:
        raise UsageError(str(exc)) from None
    with on_gpu(physical):
        result = _grade(exercise, submission, device, sandbox, physical, throughput, progress, secret)
    if submission.kind == "ipynb":
        result_to_cells(result, submission.source)  # `code cell 4, line 3`, not a line of the joined file
    return result


def _grade(exercise: Exercise, submission: Submission, device: str, sandbox: str, gpu: str | None,
           throughput: bool, progress: Progress, secret: int | None) -> GradeResult:
    pack = load_pack(exercise)
    result = _new_result(exercise, submission, device, gpu)

    error = syntax_error(submission.source)
    if error:
        return _finish(result, Status.FAILED, error)
    found = static_violations(submission.source, exercise.rules)
    if _has_rules(exercise):
        found += introspection_violations(submission.source)
    if found:
        result.violations = [{"rule": rule, "detail": detail} for rule, detail in found]
        return _finish(result, Status.REJECTED, f"rule broken: {found[0][1]}")
    missing = missing_names(parse_source(submission.source), exercise.entry_points)
    if missing:  # said once, before any sandbox run (not once per case)
        return _finish(result, Status.FAILED, f"the submission does not define {', '.join(missing)} "
                                              "(a top-level def, class, assignment or import of that name)")

    ctx = pack.context(device)
    # One deadline for the whole grading: a pack's compile precheck counts against the wall time too.
    deadline = time.monotonic() + exercise.limits.wall_seconds
    if exercise.needs_gpu and device == "cpu":
        return _cpu_fallback(result, pack, submission, ctx, deadline)
    precheck = getattr(pack.grader, "precheck", None)
    if precheck is not None:
        # A pack's own static screen (cuda_matmul: the CUDA source compiles, in the sandbox, and calls no library).
        status, message, _ = precheck(submission.source, ctx, deadline=deadline)
        if status in ("failed", "rejected"):
            result.cases.append(CaseResult("precheck", CaseStatus(status), message))
            return _finish(result, Status(status), message)

    try:
        launcher, kind = choose_launcher(sandbox, gpu)
        launcher = _with_retry(launcher)
    except SandboxUnavailable as exc:
        return _finish(result, Status.ERROR, f"sandbox unavailable: {exc}")
    result.sandbox = {"kind": kind, "layers": []}
    progress(f"preparing {len(pack.check_cases(device))} hidden cases")
    with phases.timed(result.phases, "inputs"):
        job = build_job(exercise, pack, submission.source, device, secret or new_run_secret(), throughput=throughput)
    job.gpu = gpu
    try:
        evidence = _run_cases(job, exercise, device, deadline, progress, result, launcher)
        phases.from_runs(result.phases, evidence, {p.case.name for p in job.sent})
        fault = machine_fault(evidence)
        if fault:
            return _finish(result, Status.ERROR, fault)
        with phases.timed(result.phases, "checks"):
            _score_cases(result, job, pack, ctx, evidence, progress)
        status = overall([c.status for c in result.cases])
        if status is Status.PASSED and job.benches:
            progress("checking the timed calls; timing torch and the reference (or reading its kept figures)")
            result.throughput = measure_throughput(job, pack, ctx, evidence,
                                                   _launch_reference(job, pack, exercise, device, launcher,
                                                                     result.phases), result)
            status = overall([c.status for c in result.cases])
        summary = _summary(result, status)
        return _finish(result, status, summary)
    except SandboxUnavailable as exc:
        return _finish(result, Status.ERROR, f"sandbox unavailable: {exc}")
    except GraderFault as exc:
        return _finish(result, Status.ERROR, f"grader fault (not the submission's): {exc}")
    finally:
        shutil.rmtree(job.folder, ignore_errors=True)


def machine_fault(runs: list[RunEvidence]) -> str | None:
    """The sandbox's own report that this machine cannot grade (CUDA, Triton or nvcc unusable inside
    it), sent before the submission was loaded: the grader's fault, whatever the submission is."""
    for run in runs:
        for frame in run.frames:
            if frame.header.get("event") == "grader_fault":
                problems = frame.header.get("problems")
                text = "; ".join(str(p)[:600] for p in problems[:8]) if isinstance(problems, list) else ""
                return (f"grader fault (not the submission's): {text or 'the sandbox could not be prepared'}"
                        " (run `dlverify doctor --device cuda` on this runner)")
    return None


def _has_rules(exercise: Exercise) -> bool:
    return exercise.rules.any


def _new_result(exercise: Exercise, submission: Submission, device: str, gpu: str | None) -> GradeResult:
    return GradeResult(
        exercise=exercise.id, title=exercise.title, submission_file=str(submission.path),
        submission_sha256=submission.sha256, status=Status.ERROR, summary="",
        limits=asdict(exercise.limits), device=device_info(device, gpu), versions=versions(),
    )


def _finish(result: GradeResult, status: Status, summary: str) -> GradeResult:
    result.status = status
    result.summary = summary
    run = [c for c in result.cases if c.status is not CaseStatus.NOT_RUN]
    result.correctness_score = round(sum(c.status is CaseStatus.PASSED for c in run) / len(run), 4) if run else 0.0
    for case in result.cases:
        if case.status is CaseStatus.NOT_RUN:
            result.not_verified.append(NotVerified(f"case {case.name}", case.message))
    result.graded_at = now_iso()
    return result


def _spec(job_file: Path, job: Job, exercise: Exercise, device: str, deadline: float, start: int,
          bench: bool) -> LaunchSpec:
    return LaunchSpec(
        child_script=paths.sandbox_dir() / "child.py",
        argv=[str(job_file), str(start), "1" if bench else "0"],
        readable=[paths.sandbox_dir(), job.folder],
        limits=exercise.limits, env=child_env(exercise, device, job.gpu), deadline=deadline, device=device,
        framework=exercise.framework,
    )


def _with_retry(launcher: Launcher) -> Launcher:
    """Setting up namespaces can fail for a moment on a loaded machine (EAGAIN): try twice more."""
    def run(spec: LaunchSpec) -> RunEvidence:
        for pause in (0.5, 2.0):
            try:
                return launcher(spec)
            except SandboxUnavailable as exc:
                if "temporarily unavailable" not in str(exc) or time.monotonic() + pause >= spec.deadline:
                    raise
                time.sleep(pause)
        return launcher(spec)
    return run


def _run_cases(job: Job, exercise: Exercise, device: str, deadline: float, progress: Progress,
               result: GradeResult, launcher: Launcher) -> list[RunEvidence]:
    """Run the child; when it dies inside a case, note that case and go on with the rest."""
    runs: list[RunEvidence] = []
    start = 0
    while len(runs) < MAX_LAUNCHES:
        progress(f"running {len(job.sent) - start} case(s) in the sandbox" + (" (relaunch)" if runs else ""))
        spec = _spec(job.job_file, job, exercise, device, deadline, start, bench=True)
        spec.on_frame = _case_progress(job, progress)
        evidence = launcher(spec)
        runs.append(evidence)
        started = [f.header.get("name") for f in evidence.frames if f.header.get("event") == "case_start"]
        names = [p.case.name for p in job.sent]
        if death(evidence, exercise.limits) is None or not started or started[-1] not in names:
            break
        last = names.index(started[-1])
        ended = {f.header.get("name") for f in evidence.frames if f.header.get("event") in ("case_end", "case_error")}
        if started[-1] in ended or last + 1 >= len(names) or time.monotonic() >= deadline:
            break
        start = last + 1
    result.sandbox["layers"] = [asdict(layer) for layer in runs[0].layers]
    result.process = {
        "launches": len(runs),
        "exit_code": runs[-1].returncode, "signal": runs[-1].signal,
        "wall_seconds": round(sum(r.wall_seconds for r in runs), 3),
        "cpu_seconds": None if any(r.cpu_seconds is None for r in runs) else round(sum(r.cpu_seconds for r in runs), 3),
        "peak_memory_mb": max((r.peak_memory_bytes or 0) for r in runs) >> 20 or None,
        "oom_kills": sum(r.oom_kills for r in runs),
        "left_running_after_kill": sum(r.left_running for r in runs),
    }
    result.output = {
        "stdout": "\n".join(r.stdout for r in runs if r.stdout)[-(exercise.limits.log_kb << 10):],
        "stderr": "\n".join(r.stderr for r in runs if r.stderr)[-(exercise.limits.log_kb << 10):],
        "stdout_bytes": sum(r.stdout_bytes for r in runs), "stderr_bytes": sum(r.stderr_bytes for r in runs),
    }
    return runs


def _case_progress(job: Job, progress: Progress) -> Callable[[dict], None]:
    """`case 3/17: name` as each case starts in the sandbox. Only our own case names are shown:
    a frame is the child's, and its text is never echoed."""
    names = [p.case.name for p in job.sent]

    def on_frame(header: dict) -> None:
        name = header.get("name")
        if header.get("event") == "case_start" and isinstance(name, str) and name in names:
            progress(f"case {names.index(name) + 1}/{len(names)}: {name}")
    return on_frame


def _score_cases(result: GradeResult, job: Job, pack: Pack, ctx: GraderContext, runs: list[RunEvidence],
                 progress: Progress) -> None:
    frames = [f for run in runs for f in run.frames]
    violations = [f.header for f in frames if f.header.get("event") == "violation"]
    result.violations = [{"rule": str(v.get("rule"))[:100], "detail": str(v.get("detail"))[:300]} for v in violations]
    load_error = next((f.header for f in frames if f.header.get("event") == "load_error"), None)
    outcomes: dict[str, CaseResult] = {}

    # Walk the frames in order: a violation belongs to the case running when it came.
    current = None
    starts: dict[str, float] = {}
    for frame in frames:
        event, name = frame.header.get("event"), frame.header.get("name")
        if event == "case_start":
            current = name
            starts[name] = frame.arrived
        elif event == "violation" and current in starts and current not in outcomes:
            outcomes[current] = CaseResult(current, CaseStatus.REJECTED, f"rule broken: {frame.header.get('detail')}")
        elif event in ("case_end", "case_error") and name in starts and name not in outcomes:
            seconds = round(frame.arrived - starts[name], 4)
            outcomes[name] = _case_outcome(frame, job, pack, ctx, seconds, progress)

    # Deaths: the case (or benchmark) that was running when a run died gets the run's status.
    benches = [b.case.name for b in job.benches]
    for run in runs:
        why = death(run, pack.exercise.limits)
        if why is None:
            continue
        running = _running(run.frames, benches)
        if running in benches:
            # Every correctness case may have passed already: a death on a timed input is still
            # the submission's, never "throughput not measured" on a passed result.
            outcomes.setdefault(running, CaseResult(running, why[0], "on a timed (benchmark) input: " + why[1]))
        elif running is not None and running not in outcomes:
            outcomes[running] = CaseResult(running, why[0], why[1])
        elif running is None and not load_error:
            outcomes["<load>"] = CaseResult("<load>", why[0], "while importing the submission: " + why[1])

    for planned in job.cases:
        name = planned.case.name
        if planned.not_run:
            result.cases.append(CaseResult(name, CaseStatus.NOT_RUN, planned.not_run))
        elif name in outcomes:
            result.cases.append(outcomes[name])
        elif load_error:
            status = CaseStatus.MEMORY if load_error.get("kind") == "memory" else CaseStatus.FAILED
            result.cases.append(CaseResult(name, status, "the submission did not load: "
                                           + str(load_error.get("message", ""))[:2000]))
        elif "<load>" in outcomes:
            result.cases.append(CaseResult(name, outcomes["<load>"].status, outcomes["<load>"].message))
        else:
            result.cases.append(CaseResult(name, CaseStatus.NOT_RUN, "not reached: an earlier case used up the "
                                           "run's time or relaunches"))
    result.cases += [outcomes[name] for name in benches if name in outcomes]
    if violations and not any(c.status is CaseStatus.REJECTED for c in result.cases):
        detail = str(violations[0].get("detail"))[:300]
        result.cases.append(CaseResult("rules", CaseStatus.REJECTED, f"rule broken: {detail}"))


def _running(frames, benches: list[str]) -> str | None:
    """What a run was doing when its last frame came: the case started last, or a benchmark
    (bench_begin comes before its warm-up, bench_start / gpu_bench_start before timed calls)."""
    running = None
    for frame in frames:
        event, name = frame.header.get("event"), frame.header.get("name")
        if event == "case_start" or (event in ("bench_begin", "bench_start", "gpu_bench_start") and name in benches):
            running = name
    return running


def _case_outcome(frame, job: Job, pack: Pack, ctx: GraderContext, seconds: float, progress: Progress) -> CaseResult:
    name = frame.header["name"]
    if frame.header["event"] == "case_error":
        kind = frame.header.get("kind")
        message = str(frame.header.get("message", ""))[:2000]
        status = {"memory": CaseStatus.MEMORY}.get(kind, CaseStatus.FAILED)
        prefix = {"contract": "contract: ", "exit": "the call tried to exit: "}.get(kind, "raised: ")
        return CaseResult(name, status, prefix + message, seconds=seconds)
    planned = next(p for p in job.sent if p.case.name == name)
    progress(f"checking {name}")
    try:
        outputs = codec().loads(frame.payload, pack.exercise.io)
    except Exception as exc:  # noqa: BLE001 - whatever the child sent is untrusted data
        return CaseResult(name, CaseStatus.FAILED, f"outputs could not be read as data: {type(exc).__name__}: "
                                                    f"{str(exc)[:300]}", seconds=seconds)
    check = judge(pack, ctx, planned.case, planned.inputs, outputs)
    status = CaseStatus.PASSED if check.ok else CaseStatus.FAILED
    return CaseResult(name, status, check.message, check.max_abs_error, check.max_rel_error, seconds)


def measure_throughput(job: Job, pack: Pack, ctx: GraderContext, runs: list[RunEvidence],
                       run_reference: Callable[[], RunEvidence], result: GradeResult):
    """CUDA events on a GPU (gpu/measure.py), the host's clock on a CPU (throughput.py)."""
    if ctx.device == "cuda":
        from .gpu.measure import measure_gpu

        return measure_gpu(job, pack, ctx, runs, run_reference, result)
    return measure_host_clocked(job, pack, ctx, runs, run_reference, result)


def _launch_reference(job: Job, pack: Pack, exercise: Exercise, device: str,
                      launcher: Launcher, times: dict[str, float]) -> Callable[[], RunEvidence]:
    def run() -> RunEvidence:
        job_file = with_submission(job, pack.reference_path.read_text(encoding="utf-8"), "reference.py")
        deadline = time.monotonic() + exercise.limits.wall_seconds
        with phases.timed(times, "reference"):
            return launcher(_spec(job_file, job, exercise, device, deadline, start=len(job.sent), bench=True))
    return run


def _summary(result: GradeResult, status: Status) -> str:
    counts = {s: sum(c.status is s for c in result.cases) for s in CaseStatus}
    ran = len(result.cases) - counts[CaseStatus.NOT_RUN]
    text = case_count(counts[CaseStatus.PASSED], ran, counts[CaseStatus.NOT_RUN])
    if status is not Status.PASSED:
        first = next((c for c in result.cases if c.status.value == status.value), None) or \
            next((c for c in result.cases if c.status not in (CaseStatus.PASSED, CaseStatus.NOT_RUN)), None)
        if first:
            text += f"; {first.name}: {_headline(first.message) or first.status.value}"
    return text


def _headline(message: str) -> str:
    """One line for a summary: a traceback's last line (`raised: ValueError: ...`), which names
    the error, rather than its first (`File ".../submission.py", line 2`); otherwise the first."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].startswith("raised:") and len(lines) > 1:
        return f"raised: {lines[-1]}"
    return lines[0]


def _cpu_fallback(result: GradeResult, pack: Pack, submission: Submission, ctx: GraderContext,
                  deadline: float) -> GradeResult:
    """A GPU-only exercise on a machine without one: what can be checked without running it."""
    hook = getattr(pack.grader, "cpu_fallback", None)
    reason = "no CUDA device here: the kernel cannot be run, so correctness and speed are not verified"
    if hook is None:
        result.not_verified.append(NotVerified("all cases", reason))
        return _finish(result, Status.NOT_VERIFIED, reason)
    status, message, notes = hook(submission.source, ctx, deadline=deadline)
    for note in notes:
        result.not_verified.append(NotVerified(str(note.get("what", "")), str(note.get("reason", ""))))
    final = {"failed": Status.FAILED, "rejected": Status.REJECTED}.get(status, Status.NOT_VERIFIED)
    if final is not Status.NOT_VERIFIED:
        result.cases.append(CaseResult("compile", CaseStatus(final.value), message))
    return _finish(result, final, message)
