"""`dlverify grade-batch`: many submissions to one exercise, on this machine or a Ray fleet."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..outcome import ExitCode, Status
from ..packs.registry import get_exercise
from ..report.render import STYLE
from ..report.terminal_text import markup, plain
from .recording import add_record_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade-batch", help="grade a folder of submissions to one exercise (resumable)",
                       description="Grade every submission in the given files and folders. A folder's "
                                   ".py/.ipynb files are one submission each; each sub-folder is one "
                                   "candidate's (its solution.py or solution.ipynb). Results are written "
                                   "as they finish; run again to grade only what is new or changed.")
    p.add_argument("exercise", help="an exercise id (`dlverify exercises` lists them)")
    p.add_argument("targets", nargs="+", type=Path, metavar="FILE_OR_FOLDER",
                   help="the hand-in folder, or candidates' files or folders (hand-in/*)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for results/<name>.json, summary.csv, summary.json "
                        "(default: ./dlverify-<exercise>-results)")
    p.add_argument("--jobs", type=int, default=None,
                   help="gradings side by side on this machine's CPU (default: 1 when timing, since "
                        "gradings side by side slow each other's timed calls; up to 4 with "
                        "--no-throughput). On GPUs: one per --gpus entry")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where the cases run: cpu, cuda (a GPU; a usage error without one), auto (cuda when "
                        "the exercise uses a GPU and one is here, else cpu)")
    p.add_argument("--sandbox", default="auto", choices=["auto", "local", "docker"],
                   help="where each child runs: local (bubblewrap), docker, auto (docker when an engine answers)")
    p.add_argument("--gpus", default=None, metavar="0,1,...",
                   help="GPUs of this machine to grade on, one grading per GPU at a time")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="grade over a Ray cluster: its address (auto, host:6379, ray://host:10001), or "
                        "'local' for a private Ray instance on this machine")
    p.add_argument("--no-throughput", action="store_true", help="skip the timed calls")
    p.add_argument("--fresh", action="store_true", help="grade everything again, keeping no earlier result")
    add_record_options(p, candidate=False)
    p.set_defaults(func=cmd_grade_batch)


def _gpu_list(text: str) -> list[int]:
    try:
        gpus = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--gpus must be GPU indices separated by commas (0,1,...), not {text!r}") from None
    if not gpus or any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
        raise ValueError(f"--gpus must be distinct GPU indices separated by commas (0,1,...), not {text!r}")
    return gpus


def _default_gpus() -> list[int] | None:
    """GPU 0, or the first GPU this process was given; None when it was given one by UUID."""
    from ..launch.gpus import GpuChoiceError, physical_gpu

    try:
        physical = physical_gpu(None)
    except GpuChoiceError:  # none given at all: each grading says so, as `grade` does
        return None
    return [int(physical)] if physical.isdigit() else None


def _check_gpus(gpus: list[int]) -> str | None:
    """Why --gpus cannot be used here, or None: checked once, rather than failing mid-batch."""
    from ..launch.gpus import GpuChoiceError, physical_gpu, visible_gpus

    for gpu in gpus:
        try:
            physical_gpu(gpu)
        except GpuChoiceError as exc:
            return str(exc).replace("--gpu ", "--gpus: GPU ", 1)
    if visible_gpus() is None:
        import torch

        count = torch.cuda.device_count()
        beyond = [g for g in gpus if g >= count]
        if beyond:
            return f"--gpus: no GPU {beyond[0]} on this machine (it has {count}: 0 to {count - 1})"
    return None


def _usage(env, message: str) -> int:
    env.stderr.write(f"dlverify: {plain(message)}\n")
    return ExitCode.USAGE


def cmd_grade_batch(args, env) -> int:
    from ..batch import (BatchError, Options, find_submissions, hand_in_folder, other_results, run_batch, summary_rows,
                         write_summary)
    from ..launch.environment import resolve_device

    exercise = get_exercise(args.exercise)
    gpus = None
    if args.gpus is not None:
        try:
            gpus = _gpu_list(args.gpus)
        except ValueError as exc:
            return _usage(env, str(exc))
        if args.ray is not None:
            return _usage(env, "--gpus does not apply with --ray: Ray gives each grading one GPU")
        if args.device == "cpu":
            return _usage(env, "--gpus needs --device cuda (or auto)")
    if args.jobs is not None and args.jobs < 1:
        return _usage(env, "--jobs must be at least 1")
    if args.jobs is not None and (args.ray is not None or gpus):
        return _usage(env, "--jobs does not apply with --ray or --gpus: one grading runs per GPU or Ray slot")
    device = args.device
    jobs = args.jobs or (1 if not args.no_throughput else max(1, min(4, os.cpu_count() or 1)))
    if args.ray is None:
        device = resolve_device(args.device, exercise)  # a clear error now, not one per submission
        if gpus is not None and device != "cuda":
            # Otherwise it graded on the CPU while saying "GPU 0,1".
            why = "no CUDA device is visible on this machine" if "cuda" in exercise.devices else \
                f"{exercise.id} is graded on the CPU"
            return _usage(env, f"--gpus: {why}")
        if gpus is not None and (problem := _check_gpus(gpus)):
            return _usage(env, problem)
        if device == "cuda" and gpus is None:
            # Timings are only fair on an idle GPU: one grading per GPU, never two on one.
            if args.jobs not in (None, 1):
                return _usage(env, "--device cuda grades one submission per GPU at a time; "
                                   "name several with --gpus")
            gpus = _default_gpus()
            jobs = 1
        if args.sandbox == "docker":
            from ..isolation.docker import docker_available

            if not docker_available():  # once now, rather than an `error` row per submission
                return _usage(env, "--sandbox docker: no Docker engine answers on this machine")
    targets = [t if t.is_absolute() else env.cwd / t for t in args.targets]
    out = args.out if args.out is not None else Path(f"dlverify-{exercise.id}-results")
    out = out if out.is_absolute() else env.cwd / out
    if out.exists() and not out.is_dir():
        return _usage(env, f"--out {out}: exists and is not a folder")
    try:
        entries, skipped = find_submissions(targets, out)
    except BatchError as exc:
        return _usage(env, str(exc))
    try:
        # Now, not in the first grading's thread: a folder that cannot be written is one line.
        (out / "results").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out / "results"):
            pass
    except OSError as exc:
        return _usage(env, f"--out {out}: cannot write there ({exc.strerror or exc})")
    for note in skipped:
        env.err_console.print(f"[yellow]passed over[/] {markup(str(note))} (a `no_submission` row)")
    recorder = None
    if args.record is not None:
        from .recording import BatchRecorder, recording

        # A bad --db or an unknown cohort: one line now, not after an hour of grading.
        recorder = BatchRecorder(recording(args, env), args.record, out, env)

    options = Options(device=device, sandbox=args.sandbox, throughput=not args.no_throughput)
    where = f"Ray at {args.ray}" if args.ray is not None else (
        f"GPU {','.join(map(str, gpus))}" if gpus else f"{jobs} at a time")
    env.err_console.print(f"grading {len(entries)} submission(s) to {exercise.id} ({markup(where)}); results in {markup(str(out))}")
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=env.err_console, transient=True)

    with progress:
        task = progress.add_task("grading", total=len(entries))

        def show(row) -> None:
            style = STYLE.get(row.status, "bold red")
            kept = " [dim](kept from an earlier run)[/]" if row.graded == "kept" else ""
            on = f" [dim]on {markup(row.runner)}[/]" if row.runner else ""
            # Names and summaries are the candidates' text (an exception's message): never markup.
            env.console.print(f"[{style}]{row.status.upper():>12}[/]  {markup(row.name)}  "
                              f"{markup(row.summary)}{kept}{on}")
            if recorder is not None:
                recorder.row(row)
            progress.advance(task)

        try:
            outcome = run_batch(exercise.id, entries, out, options, jobs=jobs, gpus=gpus,
                                ray_address=args.ray, fresh=args.fresh, on_row=show)
        except BatchError as exc:
            if recorder is not None:
                recorder.close()
            return _usage(env, str(exc))
    outcome.skipped = skipped
    outcome.other_results = other_results(out, entries)
    if recorder is not None:
        recorder.finish(skipped)
    csv_path, json_path = write_summary(out, exercise.id, outcome, hand_in_folder(targets))
    _show_totals(env, outcome, len(entries))
    env.console.print(f"summary written to {markup(str(csv_path))} and {markup(str(json_path))}")
    if outcome.other_results:
        shown = ", ".join(outcome.other_results[:5]) + (", ..." if len(outcome.other_results) > 5 else "")
        env.err_console.print(f"note: {len(outcome.other_results)} result file(s) in {markup(str(out))} belong to no "
                              f"submission of this batch (deleted or renamed since?), not in the summary: "
                              f"{markup(shown)}")
    if outcome.interrupted:
        env.err_console.print(f"interrupted: {len(outcome.rows)} of {len(entries)} graded; "
                              "run the same command again to grade the rest")
        return 130
    if any(r.status == Status.ERROR.value for r in outcome.rows):
        return ExitCode.INTERNAL
    # Every candidate, a folder without a submission too (a `no_submission` row never passes).
    return ExitCode.OK if all(r.passed for r in summary_rows(outcome)) else ExitCode.NOT_PASSED


def _show_totals(env, outcome, total: int) -> None:
    from ..batch import status_counts, summary_rows

    rows = summary_rows(outcome)
    counts = status_counts(rows)
    table = Table(box=None, header_style="bold", show_header=True)
    table.add_column("status")
    table.add_column("submissions", justify="right")
    for status, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(f"[{STYLE.get(status, 'bold red')}]{status}[/]", str(count))
    env.console.print(table)
    kept = sum(r.graded == "kept" for r in outcome.rows)
    # Submissions graded and candidates listed: a folder without a submission is a row of the
    # summary but no submission, and "5 of 5" over 6 rows reads as a candidate lost.
    apart = len(rows) - len(outcome.rows)
    env.console.print(f"{len(outcome.rows)} of {total} submissions graded"
                      + (f" ({kept} kept from an earlier run)" if kept else "")
                      + f"; {len(rows)} candidates in the summary"
                      + (f" ({apart} with no submission)" if apart else ""))
