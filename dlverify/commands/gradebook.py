"""`dlverify gradebook ...`: cohorts, candidates, one candidate's history, exports, imports.

Every subcommand prints rich tables, or with `--json` one JSON document for scripts.
Recording from `grade`, `grade-batch` and `verdict` is recording.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ..outcome import ExitCode
from ..report.render import STYLE
from ..report.terminal_text import markup
from .recording import add_db_option, open_book


def _with_book(handler):
    """The handler gets the open gradebook, closed when it returns (its connections too: tests
    run many commands in one process)."""
    def run(args, env) -> int:
        book = open_book(args, env)
        try:
            return handler(args, env, book)
        finally:
            book.close()
    return run


def register(sub: argparse._SubParsersAction) -> None:
    gb = sub.add_parser("gradebook", help="the gradebook: cohorts, candidates, attempts, verdicts, exports",
                        description="Every candidate, attempt and verdict recorded with --record, in SQLite "
                                    "(default) or PostgreSQL.")
    commands = gb.add_subparsers(dest="gradebook_command", metavar="COMMAND", parser_class=type(gb),
                                 help="what to do with the gradebook")
    gb.set_defaults(func=lambda args, env: _help(gb, env))

    def command(name: str, help: str, func) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help, description=help)
        add_db_option(p)
        p.add_argument("--json", action="store_true", help="one JSON document on stdout, for scripts")
        p.set_defaults(func=func)
        return p

    command("cohorts", "list the cohorts", cmd_cohorts)
    p = command("add-cohort", "make a cohort (a course offering, a hiring round) to record into", cmd_add_cohort)
    p.add_argument("name", help="the cohort's name, as --record and the other commands give it")
    p.add_argument("--title", default="", help="a longer title")
    p = command("candidates", "list a cohort's candidates, with the attempt that counts per exercise",
                cmd_candidates)
    p.add_argument("cohort", help="the cohort's name")
    _attempt_option(p)
    p = command("show", "one candidate: every attempt, what counts, verdict and calibration", cmd_show)
    p.add_argument("cohort", help="the cohort's name")
    p.add_argument("candidate", help="the candidate's name in it")
    p.add_argument("--exercise", default=None, help="only this exercise's attempts")
    p = command("export", "a cohort as CSV, JUnit XML, or a candidate's Gradescope results.json", cmd_export)
    p.add_argument("cohort", help="the cohort's name")
    p.add_argument("--format", default="csv", choices=["csv", "junit", "gradescope"],
                   help="csv (a row per candidate), junit (a testsuite per candidate and exercise), "
                        "gradescope (one candidate's results.json; needs --candidate)")
    p.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
    p.add_argument("--candidate", default=None, help="only this candidate")
    p.add_argument("--exercise", default=None, help="only this exercise")
    p.add_argument("--status", action="store_true", help="csv: a status column after each exercise")
    _attempt_option(p)
    _visibility_option(p)
    p = command("import", "record a grade-batch output folder (results/, summary.json) into a cohort",
                cmd_import)
    p.add_argument("cohort", help="the cohort's name")
    p.add_argument("folder", type=Path, help="a grade-batch --out folder (its summary.json names the candidates)")


def _attempt_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--attempt", default="latest", choices=["latest", "best"],
                   help="which attempt counts: latest (default) or best (passed, then correctness, then "
                        "throughput); a grader error or not_verified counts only when there is no other")


def _visibility_option(p: argparse.ArgumentParser) -> None:
    from ..gradebook.exports.gradescope import VISIBILITIES

    p.add_argument("--visibility", default="visible", choices=VISIBILITIES,
                   help="gradescope: when students see each test (default: visible)")


def _help(parser: argparse.ArgumentParser, env) -> int:
    parser.print_help(env.stdout)
    return ExitCode.USAGE


def _print_json(env, document: Any) -> None:
    env.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _show(env, table: Table) -> None:
    """In a terminal, the table fits its width; in a log or a pipe, one whole line per row, never
    wrapped to an assumed 80 columns (as grade's table: render.py)."""
    if env.console.is_terminal:
        env.console.print(table)
        return
    from rich.console import Console

    Console(file=env.stdout, width=100_000, highlight=False, soft_wrap=True).print(table, crop=False)


def _score(attempt) -> str:
    if attempt.cases_total == 0 and attempt.cases_not_run == 0:
        return "no case ran"
    text = f"{attempt.cases_passed}/{attempt.cases_total}"
    return text + (f" (+{attempt.cases_not_run} not run)" if attempt.cases_not_run else "")


def _status(status: str) -> str:
    return f"[{STYLE.get(status, 'bold red')}]{markup(status)}[/]"


@_with_book
def cmd_cohorts(args, env, book) -> int:
    from ..gradebook import queries

    with book.reading() as session:
        found = queries.cohorts(session)
    if args.json:
        _print_json(env, [{"name": c.name, "title": c.title, "created_at": queries.when(c.created_at),
                           "candidates": c.candidates, "attempts": c.attempts, "exercises": c.exercises}
                          for c in found])
        return ExitCode.OK
    if not found:
        env.console.print("no cohorts yet: dlverify gradebook add-cohort NAME")
        return ExitCode.OK
    table = Table(box=None, header_style="bold")
    for column in ("cohort", "title", "candidates", "attempts", "exercises", "created (UTC)"):
        table.add_column(column, justify="right" if column in ("candidates", "attempts") else "left")
    for c in found:
        table.add_row(markup(c.name), markup(c.title), str(c.candidates), str(c.attempts),
                      ", ".join(c.exercises) or "-", _time(c.created_at))
    _show(env, table)
    return ExitCode.OK


@_with_book
def cmd_add_cohort(args, env, book) -> int:
    from ..gradebook.record import add_cohort

    with book.writing() as session:
        cohort, created = add_cohort(session, args.name, args.title)
    if args.json:
        _print_json(env, {"name": cohort.name, "created": created})
    else:
        env.console.print(f"{'made' if created else 'already there:'} cohort {markup(cohort.name)} "
                          f"in {markup(_where(book))}")
    return ExitCode.OK


def _where(book) -> str:
    from ..gradebook.db import shown_url

    return shown_url(book.url)


@_with_book
def cmd_candidates(args, env, book) -> int:
    from ..gradebook import queries

    with book.reading() as session:
        cohort = queries.cohort_named(session, args.cohort)
        exercises = queries.exercises(session, cohort)
        people = queries.candidates(session, cohort, args.attempt)
    if args.json:
        _print_json(env, {"cohort": cohort.name, "attempt": args.attempt, "exercises": exercises, "candidates": [
            {"name": p.name, "attempts": p.attempts,
             "counted": {ex: queries.attempt_data(a) for ex, a in p.counted.items()},
             "verdict": queries.verdict_data(p.verdict) if p.verdict is not None else None} for p in people]})
        return ExitCode.OK
    table = Table(box=None, header_style="bold", title=f"{markup(cohort.name)}: {len(people)} candidate(s), "
                                                        f"{args.attempt} attempt counts")
    table.add_column("candidate")
    for exercise in exercises:
        table.add_column(exercise)
    table.add_column("attempts", justify="right")
    table.add_column("verdict")
    for p in people:
        cells = [f"{_status(a.status)} {_score(a)}" if (a := p.counted.get(ex)) else "[dim]-[/]" for ex in exercises]
        verdict = f"{markup(p.verdict.verdict)} {p.verdict.match_percent:.0f}%" if p.verdict else "-"
        table.add_row(markup(p.name), *cells, str(p.attempts), verdict)
    _show(env, table)
    return ExitCode.OK


@_with_book
def cmd_show(args, env, book) -> int:
    from ..gradebook import queries

    with book.reading() as session:
        cohort = queries.cohort_named(session, args.cohort)
        person = queries.find_candidate(session, cohort, args.candidate)
        attempts = queries.history(session, person, args.exercise)
        latest = queries.counted_attempts(session, cohort, "latest", candidate=person.name, exercise=args.exercise)
        best = queries.counted_attempts(session, cohort, "best", candidate=person.name, exercise=args.exercise)
        given = queries.verdicts(session, person)
    if args.json:
        _print_json(env, {"cohort": cohort.name, "candidate": person.name,
                          "attempts": [queries.attempt_data(a) for a in attempts],
                          "latest": {a.assessment.exercise: a.id for a in latest},
                          "best": {a.assessment.exercise: a.id for a in best},
                          "verdicts": [queries.verdict_data(v) for v in given]})
        return ExitCode.OK
    marks = {}
    for a in latest:
        marks.setdefault(a.id, []).append("latest")
    for a in best:
        marks.setdefault(a.id, []).append("best")
    table = Table(box=None, header_style="bold", title=f"{markup(person.name)} in {markup(cohort.name)}: "
                                                        f"{len(attempts)} attempt(s)")
    for column in ("#", "exercise", "graded (UTC)", "status", "cases", "throughput", "device", "sha256", "from",
                   "counts"):
        # What identifies an attempt is never folded; the rest folds to a narrow terminal.
        table.add_column(column, justify="right" if column == "#" else "left",
                         no_wrap=column in ("#", "exercise", "graded (UTC)", "status", "sha256"))
    for a in attempts:
        tp = f"{a.throughput_score:.2f}" + (" (cpu)" if a.indicative else "") if a.throughput_score is not None else "-"
        table.add_row(str(a.id), a.assessment.exercise, _time(a.graded_at), _status(a.status), _score(a), tp,
                      markup(a.device_kind or "-"), a.submission_sha256[:12], a.source, " ".join(marks.get(a.id, [])))
    _show(env, table)
    for a in attempts:
        if "latest" in marks.get(a.id, []) and a.status != "passed":
            env.console.print(f"  {a.assessment.exercise}: {markup(a.summary)}")
    if not given:
        env.console.print("verdict: none recorded (dlverify verdict ... --record COHORT --candidate NAME)")
    for v in given[-1:]:
        data = queries.verdict_data(v)
        env.console.print(f"verdict ({markup(v.role)}, {_time(v.recorded_at)}): [bold]{markup(v.verdict)}[/], "
                          f"match {v.match_percent:.1f}%")
        if v.calibration_percent is not None:
            env.console.print(f"calibration: {v.calibration_percent:.0f}% - {markup(data['calibration_summary'] or '')}")
        else:
            env.console.print(f"calibration: {markup(data['calibration_summary'] or 'nothing checked')}")
    if len(given) > 1:
        env.console.print(f"[dim]({len(given)} verdicts recorded; --json lists them all)[/]")
    return ExitCode.OK


@_with_book
def cmd_export(args, env, book) -> int:
    from ..gradebook import queries
    from ..gradebook.db import GradebookError
    from ..gradebook.exports.cohort import Export, export_text

    if args.format == "gradescope" and args.candidate is None:
        raise GradebookError("--format gradescope writes one candidate's results.json: name them with --candidate")
    spec = Export(args.format, policy=args.attempt, candidate=args.candidate, exercise=args.exercise,
                  with_status=args.status, visibility=args.visibility)
    with book.reading() as session:
        text = export_text(session, queries.cohort_named(session, args.cohort), spec)
    return write_output(env, args.out, lambda handle: handle.write(text))


def write_output(env, out: Path | None, write) -> int:
    """To --out (replaced whole, never half-written), or stdout."""
    if out is None or str(out) == "-":
        write(env.stdout)
        return ExitCode.OK
    from ..gradebook.db import GradebookError

    target = out if out.is_absolute() else env.cwd / out
    partial = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8", newline="") as handle:
            write(handle)
        partial.replace(target)
    except OSError as exc:
        raise GradebookError(f"--out {target}: cannot write ({exc.strerror or exc})") from None
    env.err_console.print(f"wrote {markup(str(target))}")
    return ExitCode.OK


@_with_book
def cmd_import(args, env, book) -> int:
    from ..gradebook.importer import import_folder

    folder = args.folder if args.folder.is_absolute() else env.cwd / args.folder
    report = import_folder(book, args.cohort, folder)
    if args.json:
        _print_json(env, {"cohort": args.cohort, "recorded": report.recorded, "already": report.already,
                          "listed_without_attempt": report.listed,
                          "passed_over": [{"file": f, "why": w} for f, w in report.passed_over]})
    else:
        for file, why in report.passed_over:
            env.err_console.print(f"[yellow]passed over[/] {markup(why)}")
        env.console.print(f"{report.recorded} attempt(s) recorded into {markup(args.cohort)}, {report.already} "
                          f"already there" + (f", {report.listed} candidate(s) without a submission listed"
                                              if report.listed else ""))
    return ExitCode.OK
