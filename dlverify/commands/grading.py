"""exercises, start, grade, validate: the commands of the grading core."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.table import Table

from ..outcome import ExitCode, Status
from ..packs.registry import EXERCISE_IDS, all_exercises, get_exercise
from ..report.terminal_text import markup
from .recording import add_record_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exercises", help="list the exercises")
    p.set_defaults(func=cmd_exercises)

    p = sub.add_parser("start", help="write an exercise's starter and README for a candidate")
    p.add_argument("exercise", help="an exercise id (`dlverify exercises` lists them)")
    p.add_argument("--dir", type=Path, default=None, help="folder to write into (default: ./<exercise>)")
    p.add_argument("--notebook", action="store_true", help="write a Jupyter notebook instead of a .py starter")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("grade", help="grade a submission (.py or .ipynb) in the sandbox")
    p.add_argument("exercise", help="an exercise id (`dlverify exercises` lists them)")
    p.add_argument("submission", type=Path, help="the candidate's .py file or .ipynb notebook")
    p.add_argument("--json", type=Path, default=None, help="write the result JSON here")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where the cases run: cpu, cuda (a GPU; a usage error without one), auto (cuda when "
                        "the exercise uses a GPU and one is here, else cpu)")
    p.add_argument("--sandbox", default="auto", choices=["auto", "local", "docker"],
                   help="where the child runs: local (bubblewrap, cgroups, seccomp), docker (the "
                        "Dockerfile.cuda image), auto (docker when an engine answers, else local)")
    p.add_argument("--gpu", type=int, default=None, metavar="N", help="the GPU to grade on, numbered as nvidia-smi does (default: the first this "
                        "process may use)")
    p.add_argument("--no-throughput", action="store_true", help="skip the timed calls")
    p.add_argument("-v", "--verbose", action="store_true", help="full messages for every case")
    add_record_options(p, candidate=True)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("validate", help="check packs: references and known-good pass, known-bad fail")
    p.add_argument("exercises", nargs="*", help=f"exercise ids (default: all: {', '.join(EXERCISE_IDS)})")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where the packs' solutions are graded (default: cpu)")
    p.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="gradings run side by side")
    p.set_defaults(func=cmd_validate)


def cmd_exercises(args, env) -> int:
    table = Table(box=None, header_style="bold")
    for column in ("id", "title", "skills", "GPU"):
        table.add_column(column)
    for ex in all_exercises():
        gpu = "needs a GPU (CPU: compile check)" if ex.needs_gpu else ("optional" if "cuda" in ex.devices else "no")
        table.add_row(ex.id, ex.title, ", ".join(ex.skills), gpu)
    env.console.print(table)
    return ExitCode.OK


def cmd_start(args, env) -> int:
    from ..packs.handout import render_readme
    from ..packs.notebook import starter_notebook

    exercise = get_exercise(args.exercise)
    folder = args.dir if args.dir is not None else env.cwd / exercise.id
    folder = folder if folder.is_absolute() else env.cwd / folder
    if folder.exists() and not folder.is_dir():
        env.stderr.write(f"dlverify: {folder} exists and is not a folder\n")
        return ExitCode.USAGE
    # Every file's bytes first: a file that already holds exactly these bytes is no conflict
    # (`start` then `start --notebook` writes the same README twice).
    files = {"README.md": render_readme(exercise).encode("utf-8")}
    for name in exercise.handout:
        if name not in ("starter.py", "README.md"):
            files[name] = (exercise.folder / name).read_bytes()
    if args.notebook:
        import nbformat

        main_name = "solution.ipynb"
        files[main_name] = nbformat.writes(starter_notebook(exercise)).encode("utf-8") + b"\n"
    else:
        main_name = "solution.py"
        files[main_name] = exercise.starter.read_bytes()
    main_file = folder / main_name
    clashes = [folder / n for n, data in files.items()
               if (folder / n).exists() and not _holds(folder / n, data)]
    if clashes and not args.force:
        env.stderr.write(f"dlverify: {clashes[0]} already exists (use --force to overwrite)\n")
        return ExitCode.USAGE
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
        env.console.print(f"wrote {folder / name}")
    env.console.print(f"when ready: [bold]dlverify grade {exercise.id} {main_file}[/]")
    return ExitCode.OK


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.is_file() and path.read_bytes() == data
    except OSError:
        return False


def cmd_grade(args, env) -> int:
    from ..engine import grade
    from ..report.render import show_result

    get_exercise(args.exercise)  # unknown id: a usage error before anything starts
    if args.gpu is not None and args.gpu < 0:
        env.stderr.write("dlverify: --gpu must be a GPU index (0, 1, ...)\n")
        return ExitCode.USAGE
    if args.sandbox == "docker":
        from ..isolation.docker import docker_available

        if not docker_available():  # asked for by name: the user's setup, like --device cuda without a GPU
            env.stderr.write("dlverify: --sandbox docker: no Docker engine answers on this machine "
                             "(start one, or use --sandbox local)\n")
            return ExitCode.USAGE
    submission = args.submission if args.submission.is_absolute() else env.cwd / args.submission
    book = None
    if args.record is not None:
        from .recording import recording

        book = recording(args, env)  # a bad --db or an unknown cohort: one line now, before grading
    elif args.candidate is not None:
        env.stderr.write("dlverify: --candidate names whom to record under: it needs --record COHORT\n")
        return ExitCode.USAGE
    try:
        with env.err_console.status(f"grading {markup(args.submission)} against {markup(args.exercise)}") as status:
            result = grade(args.exercise, submission, device=args.device, sandbox=args.sandbox, gpu=args.gpu,
                           throughput=not args.no_throughput, progress=lambda msg: status.update(msg))
        show_result(result, env.console, verbose=args.verbose)
        if args.json is not None:
            target = args.json if args.json.is_absolute() else env.cwd / args.json
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(result.to_json(), encoding="utf-8")
            env.console.print(f"result written to {target}")
        if book is not None:
            _record(env, book, args, result)
    finally:
        if book is not None:
            book.close()
    if result.status is Status.ERROR:
        return ExitCode.INTERNAL
    return ExitCode.OK if result.passed else ExitCode.NOT_PASSED


def _candidate_name(submission: Path, cwd: Path) -> str:
    """As grade-batch names a candidate: the folder's name for a solution.py/.ipynb, else the stem."""
    from ..batch.model import SOLUTION_NAMES

    path = submission if submission.is_absolute() else cwd / submission
    return path.resolve().parent.name if path.name in SOLUTION_NAMES else path.stem


def _record(env, book, args, result) -> None:
    from ..gradebook.record import find_cohort, record_attempt

    name = args.candidate if args.candidate is not None else _candidate_name(args.submission, env.cwd)
    with book.writing() as session:
        done = record_attempt(session, find_cohort(session, args.record), name, result.to_dict(), source="grade")
        attempt_id = done.attempt.id
    env.console.print(f"recorded as attempt {attempt_id} of {markup(name)} in cohort {markup(args.record)}")


def cmd_validate(args, env) -> int:
    from ..packs.validate import run_validate

    ids = args.exercises or list(EXERCISE_IDS)
    for exercise_id in ids:
        get_exercise(exercise_id)
    if args.jobs < 1:
        env.stderr.write("dlverify: --jobs must be at least 1\n")
        return ExitCode.USAGE

    def show(outcome) -> None:
        exp = outcome.expectation
        mark = "[cyan]not verified here[/]" if outcome.not_verified else ("[green]ok[/]" if outcome.ok else "[red]MISMATCH[/]")
        want = "pass" if exp.role in ("reference", "correct") else "/".join(exp.expected)
        env.console.print(f"{mark}  {exp.exercise}/{exp.role}/{markup(exp.path.name)}: expected {want}, got "
                          f"{outcome.status} — {markup(outcome.summary)}")

    outcomes = run_validate(ids, device=args.device, jobs=args.jobs, on_outcome=show)
    bad = [o for o in outcomes if not o.ok]
    unverified = sum(o.not_verified for o in outcomes)
    env.console.print(f"{len(outcomes) - len(bad)} of {len(outcomes)} as expected"
                      + (f" ({unverified} not verified here)" if unverified else ""))
    return ExitCode.OK if not bad else ExitCode.NOT_PASSED
