"""`dlverify grade-batch`: many submissions to one exercise, on this machine or a Ray fleet."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..outcome import ExitCode, Status
from ..registry import get_exercise
from ..render import STYLE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade-batch", help="grade a folder of submissions to one exercise (resumable)",
                       description="Grade every submission in the given files and folders. A folder's "
                                   ".py/.ipynb files are one submission each; each sub-folder is one "
                                   "candidate's (its solution.py or solution.ipynb). Results are written "
                                   "as they finish; run again to grade only what is new or changed.")
    p.add_argument("exercise")
    p.add_argument("targets", nargs="+", type=Path, metavar="FILE_OR_FOLDER")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for results/<name>.json, summary.csv, summary.json "
                        "(default: ./dlverify-<exercise>-results)")
    p.add_argument("--jobs", type=int, default=None,
                   help="gradings side by side on this machine's CPU (default: 1 when timing, since "
                        "gradings side by side slow each other's timed calls; up to 4 with "
                        "--no-throughput). On GPUs: one per --gpus entry")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--sandbox", default="auto", choices=["auto", "local", "docker"])
    p.add_argument("--gpus", default=None, metavar="0,1,...",
                   help="GPUs of this machine to grade on, one grading per GPU at a time")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="grade over a Ray cluster: its address (auto, host:6379, ray://host:10001), or "
                        "'local' for a private Ray instance on this machine")
    p.add_argument("--no-throughput", action="store_true", help="skip the timed calls")
    p.add_argument("--fresh", action="store_true", help="grade everything again, keeping no earlier result")
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
    from ..gpus import visible_gpus

    visible = visible_gpus()
    if visible is None:
        return [0]
    return [int(visible[0])] if visible and visible[0].isdigit() else None


def _usage(env, message: str) -> int:
    env.stderr.write(f"dlverify: {message}\n")
    return ExitCode.USAGE


def cmd_grade_batch(args, env) -> int:
    from ..batch import BatchError, Options, find_submissions, run_batch, write_summary
    from ..environment import resolve_device

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
        entries, skipped = find_submissions(targets)
    except BatchError as exc:
        return _usage(env, str(exc))
    for note in skipped:
        env.err_console.print(f"[yellow]passed over[/] {note}")

    options = Options(device=device, sandbox=args.sandbox, throughput=not args.no_throughput)
    where = f"Ray at {args.ray}" if args.ray is not None else (
        f"GPU {','.join(map(str, gpus))}" if gpus else f"{jobs} at a time")
    env.err_console.print(f"grading {len(entries)} submission(s) to {exercise.id} ({where}); results in {out}")
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=env.err_console, transient=True)

    with progress:
        task = progress.add_task("grading", total=len(entries))

        def show(row) -> None:
            style = STYLE.get(row.status, "bold red")
            kept = " [dim](kept from an earlier run)[/]" if row.graded == "kept" else ""
            on = f" [dim]on {row.runner}[/]" if row.runner else ""
            env.console.print(f"[{style}]{row.status.upper():>12}[/]  {row.name}  {row.summary[:120]}{kept}{on}")
            progress.advance(task)

        try:
            outcome = run_batch(exercise.id, entries, out, options, jobs=jobs, gpus=gpus,
                                ray_address=args.ray, fresh=args.fresh, on_row=show)
        except BatchError as exc:
            return _usage(env, str(exc))
    outcome.skipped = skipped
    csv_path, json_path = write_summary(out, exercise.id, outcome)
    _show_totals(env, outcome, len(entries))
    env.console.print(f"summary written to {csv_path} and {json_path}")
    if outcome.interrupted:
        env.err_console.print(f"interrupted: {len(outcome.rows)} of {len(entries)} graded; "
                              "run the same command again to grade the rest")
        return 130
    if any(r.status == Status.ERROR.value for r in outcome.rows):
        return ExitCode.INTERNAL
    return ExitCode.OK if all(r.passed for r in outcome.rows) else ExitCode.NOT_PASSED


def _show_totals(env, outcome, total: int) -> None:
    counts: dict[str, int] = {}
    for row in outcome.rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    table = Table(box=None, header_style="bold", show_header=True)
    table.add_column("status")
    table.add_column("submissions", justify="right")
    for status, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(f"[{STYLE.get(status, 'bold red')}]{status}[/]", str(count))
    env.console.print(table)
    kept = sum(r.graded == "kept" for r in outcome.rows)
    env.console.print(f"{len(outcome.rows)} of {total} submissions"
                      + (f" ({kept} kept from an earlier run)" if kept else ""))
