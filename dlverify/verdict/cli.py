"""verdict, questionnaire, assess, demo: the verdict engine's commands.

`register(subparsers)` adds them to the `dlverify` parser; each handler takes
(args, env) and returns an exit code: 0 done, 2 a usage problem (one line on
stderr, never a traceback), 130 a questionnaire stopped part-way (saved).
Grading goes through dlverify.engine.grade; a test may put its own `grade`
callable on env to keep the suite fast.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable


from ..report.terminal_text import markup, plain
from .answers import Answers, AnswersError, load_answers
from .datafile import DataFileError, read_data_file
from .results import ResultsError, results_from_dicts, load_results
from .submissions import SubmissionsError, find_submissions

USAGE, OK, INTERRUPTED = 2, 0, 130
SAMPLES = Path(__file__).resolve().parent / "samples"
DEFAULT_SAVE = "dlverify-answers.yaml"


class Usage(Exception):
    """A problem with what the user gave us: one line, exit code 2."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("verdict", help="combine questionnaire answers and grader results into a verdict",
                              description="Weigh the self-report against graded evidence for a role profile.")
    p.add_argument("--answers", required=True, type=Path, metavar="FILE", help="answers file (YAML or JSON)")
    p.add_argument("--results", nargs="*", default=[], type=Path, metavar="DIR_OR_FILE",
                   help="grader result JSON files, or folders of them; without any, a claims-only verdict "
                        "(every claim discounted as unverified)")
    _report_options(p)
    from ..commands.recording import add_record_options

    add_record_options(p, candidate=True)
    p.set_defaults(func=cmd_verdict)

    p = subparsers.add_parser("questionnaire", help="answer the eight questions interactively (resumable)",
                              description="Asks one question at a time and saves after every answer.")
    p.add_argument("--save", type=Path, default=Path(DEFAULT_SAVE), metavar="FILE",
                   help=f"answers file to write and resume from (default: ./{DEFAULT_SAVE})")
    p.add_argument("--fresh", action="store_true", help="start over, ignoring answers already saved")
    p.set_defaults(func=cmd_questionnaire)

    p = subparsers.add_parser("assess", help="questionnaire + grading + verdict for one candidate",
                              description="Ask (or read) the answers, grade the submissions, give the verdict.")
    p.add_argument("--answers", type=Path, metavar="FILE", help="answers file; without it, ask interactively")
    p.add_argument("--save", type=Path, default=Path(DEFAULT_SAVE), metavar="FILE",
                   help=f"where the interactive answers go (default: ./{DEFAULT_SAVE})")
    p.add_argument("--submissions", type=Path, metavar="DIR",
                   help="folder of submissions named after exercise ids (attention.py, cuda_matmul.py, mixed_precision.ipynb, ...)")
    p.add_argument("--results-out", type=Path, metavar="DIR", help="also write each grader result JSON here")
    _grading_options(p)
    _report_options(p)
    p.set_defaults(func=cmd_assess)

    p = subparsers.add_parser("demo", help="assess a bundled sample candidate and write the reports",
                              description="Grades three sample submissions for sample answers (CPU, under a "
                                          "minute) and writes JSON, Markdown and HTML reports.")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="folder for the reports (default: a new temporary folder, named when done)")
    p.add_argument("--role", default=None, help="role profile (default: the sample's, engineer)")
    _grading_options(p, default_device="cpu")
    p.set_defaults(func=cmd_demo)


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", default="engineer", help="role profile: engineer (default) or researcher")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report here")
    p.add_argument("--md", type=Path, metavar="FILE", help="write the Markdown report here")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")


def _grading_options(p: argparse.ArgumentParser, default_device: str = "auto") -> None:
    p.add_argument("--device", default=default_device, choices=["auto", "cpu", "cuda"],
                   help=f"where to grade (default: {default_device})")
    p.add_argument("--jobs", type=int, default=min(3, os.cpu_count() or 1), help="gradings run side by side")


# --- shared steps ------------------------------------------------------------------

def _path(env, p: Path | None) -> Path | None:
    if p is None:
        return None
    return p if p.is_absolute() else Path(env.cwd) / p


def _now() -> datetime:
    """The report's timestamp; SOURCE_DATE_EPOCH pins it for byte-identical reruns."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc)


def _check_role(role: str) -> None:
    from .catalogue import default_catalogue

    roles = default_catalogue().roles
    if role not in roles:
        raise Usage(f"--role {role!r}: unknown role; known: {', '.join(roles)}")


def _load_answers(env, path: Path) -> Answers:
    try:
        return load_answers(_path(env, path))
    except (AnswersError, DataFileError) as exc:
        raise Usage(str(exc)) from None


def _finish(env, args, answers: Answers, results: dict, role: str, outputs: dict[str, Path | None],
            on_report: Callable[[dict], None] | None = None) -> int:
    from .engine import build_report, report_json
    from .report_html import render_html
    from .report_md import render_markdown
    from .report_terminal import render_terminal

    report = build_report(answers, results, role, now=_now())
    renderers: dict[str, Callable[[dict], str]] = {"json": report_json, "md": render_markdown, "html": render_html}
    written = []
    for kind, target in outputs.items():
        if target is None:
            continue
        target = _path(env, target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(renderers[kind](report), encoding="utf-8")
        except OSError as exc:
            raise Usage(f"{target}: cannot write ({exc.strerror or exc})") from None
        written.append(target)
    render_terminal(report, env.console)
    for target in written:
        env.console.print(f"wrote {target}", highlight=False)
    if on_report is not None:
        on_report(report)
    return OK


def _run(env, handler: Callable[[], int]) -> int:
    try:
        return handler()
    except Usage as exc:
        env.stderr.write(f"dlverify: {plain(exc)}\n")
        return USAGE


# --- verdict -------------------------------------------------------------------------

def _claims_only(env) -> None:
    from .catalogue import default_catalogue

    factor = default_catalogue().evidence.unverified_factor
    env.console.print(f"no grader results: a claims-only verdict, every claim counted at x{factor:g} "
                      f"(the discount for evidence nobody checked)", highlight=False)


def cmd_verdict(args, env) -> int:
    def go() -> int:
        _check_role(args.role)
        book = _recording(env, args)   # before anything is read: a bad --db or cohort is one line now
        try:
            return _verdict(env, args, book)
        finally:
            if book is not None:
                book.close()
    return _run(env, go)


def _verdict(env, args, book) -> int:
    answers = _load_answers(env, args.answers)
    paths = [_path(env, p) for p in args.results]
    try:
        results = load_results(paths)
    except ResultsError as exc:
        raise Usage(str(exc)) from None
    if not results:
        _claims_only(env)
    record = (lambda report: _record_verdict(env, book, args, answers, paths, report)) if book else None
    return _finish(env, args, answers, results, args.role, {"json": args.json, "md": args.md, "html": args.html},
                   on_report=record)


def _recording(env, args):
    """--record: the gradebook, opened and its cohort checked before anything is read or written."""
    if args.record is None:
        if args.candidate is not None:
            raise Usage("--candidate names whom to record under: it needs --record COHORT")
        return None
    if args.candidate is None:
        raise Usage("--record needs --candidate NAME: whose verdict this is")
    from ..commands.recording import recording

    return recording(args, env)


def _record_verdict(env, book, args, answers: Answers, paths: list[Path], report: dict) -> None:
    """The answers, the results the verdict weighed (as attempts; one already there is not doubled)
    and the verdict itself, in one transaction."""
    import json

    from ..gradebook.record import find_cohort, record_answers, record_attempt, record_verdict
    from .engine import answers_digest
    from .results import _files

    documents = [json.loads(p.read_text(encoding="utf-8")) for p in _files(paths)]
    with book.writing() as session:
        cohort = find_cohort(session, args.record)
        for document in documents:
            record_attempt(session, cohort, args.candidate, document, source="verdict")
        stored = record_answers(session, cohort, args.candidate, answers.to_dict(), answers_digest(answers))
        verdict = record_verdict(session, cohort, args.candidate, report, stored)
        verdict_id = verdict.id
    env.console.print(f"recorded as verdict {verdict_id} of {markup(args.candidate)} in cohort "
                      f"{markup(args.record)}", highlight=False)


# --- questionnaire ---------------------------------------------------------------------

def _ask(env, save: Path, fresh: bool) -> Answers | int:
    from .questionnaire import QuestionnaireInterrupted, run_questionnaire

    path = _path(env, save)
    try:
        return run_questionnaire(env.stdin, env.stdout, path, fresh=fresh)
    except QuestionnaireInterrupted as stop:
        env.stderr.write(f"dlverify: stopped; {stop.answered} of {_total()} answers are saved in {path}. "
                         f"Run the same command again to resume.\n")
        return INTERRUPTED
    except (AnswersError, DataFileError) as exc:
        raise Usage(f"cannot resume: {exc} (fix the file, or pass --fresh to start over)") from None


def _total() -> int:
    from .answers import FIELD_PATHS

    return len(FIELD_PATHS)


def cmd_questionnaire(args, env) -> int:
    def go() -> int:
        answers = _ask(env, args.save, args.fresh)
        if isinstance(answers, int):
            return answers
        save = _path(env, args.save)
        env.stdout.write(f"Next: dlverify assess --answers {save} --submissions DIR\n"
                         f"  or: dlverify verdict --answers {save} --results RESULTS\n")
        return OK
    return _run(env, go)


# --- grading (assess, demo) -------------------------------------------------------------

def _grade_fn(env) -> Callable[..., Any]:
    custom = getattr(env, "grade", None)
    if custom is not None:
        return custom
    from ..engine import grade

    return grade


def _grade_all(env, submissions: dict[str, Path], device: str, jobs: int) -> dict[str, dict]:
    """Grade side by side; a crash of the grader itself becomes an `error` result (unverified)."""
    from ..errors import UsageError as EngineUsageError
    from ..submission.read import SubmissionError

    grade = _grade_fn(env)
    try:
        takes_throughput = "throughput" in inspect.signature(grade).parameters
    except (TypeError, ValueError):
        takes_throughput = False
    # CPU throughput is indicative only and the verdict ignores it: skip the timed calls there
    extra = {"throughput": False} if takes_throughput and device == "cpu" else {}

    def one(item: tuple[str, Path]) -> tuple[str, dict]:
        exercise, path = item
        try:
            result = grade(exercise, path, device=device, progress=None, **extra)
            return exercise, result.to_dict()
        except (EngineUsageError, SubmissionError) as exc:
            raise Usage(f"{path}: {exc}") from None
        except Exception as exc:  # the grader's own fault: counted as unverified, never as failed
            return exercise, _error_result(exercise, path, f"{type(exc).__name__}: {exc}")

    if jobs < 1:
        raise Usage("--jobs must be at least 1")
    for exercise, path in submissions.items():
        env.console.print(f"grading {exercise} ({markup(path.name)}) ...", highlight=False)
    with ThreadPoolExecutor(max_workers=min(jobs, len(submissions)) or 1) as pool:
        done = dict(pool.map(one, sorted(submissions.items())))
    for exercise, doc in done.items():
        # The summary can carry the candidate's own text (an exception's message): never markup.
        env.console.print(f"  {exercise}: {doc['status']} - {markup(str(doc.get('summary', '')))}",
                          highlight=False)
    return done


def _error_result(exercise: str, path: Path, message: str) -> dict:
    from ..report.result import SCHEMA

    return {"schema": SCHEMA, "exercise": exercise, "title": exercise, "submission_file": str(path),
            "submission_sha256": "", "status": "error", "summary": f"grader error: {message}", "cases": [],
            "correctness_score": 0.0, "throughput": None, "not_verified": [], "graded_at": ""}


def _known_exercises() -> tuple[str, ...]:
    from ..packs.registry import EXERCISE_IDS

    return tuple(EXERCISE_IDS)


def _write_results(env, folder: Path | None, docs: dict[str, dict]) -> None:
    if folder is None:
        return
    import json

    folder = _path(env, folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for exercise, doc in docs.items():
            (folder / f"{exercise}.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise Usage(f"{folder}: cannot write results ({exc.strerror or exc})") from None


def cmd_assess(args, env) -> int:
    def go() -> int:
        _check_role(args.role)
        known = _known_exercises()
        submissions, ignored = ({}, [])
        if args.submissions is not None:
            try:
                submissions, ignored = find_submissions(_path(env, args.submissions), known)
            except SubmissionsError as exc:
                raise Usage(str(exc)) from None
        if args.answers is not None:
            answers = _load_answers(env, args.answers)
        else:
            answers = _ask(env, args.save, fresh=False)
            if isinstance(answers, int):
                return answers
        for name in ignored:
            env.console.print(f"ignored {markup(name)}: not an exercise id with .py or .ipynb", highlight=False)
        docs = _grade_all(env, submissions, args.device, args.jobs) if submissions else {}
        if not submissions:
            _claims_only(env)
        _write_results(env, args.results_out, docs)
        results = results_from_dicts([(f"{ex} result", d) for ex, d in docs.items()], known)
        return _finish(env, args, answers, results, args.role, {"json": args.json, "md": args.md, "html": args.html})
    return _run(env, go)


# --- demo ----------------------------------------------------------------------------------

def demo_plan() -> dict[str, Any]:
    return read_data_file(SAMPLES / "demo.yaml")


def cmd_demo(args, env) -> int:
    from .. import paths

    def go() -> int:
        plan = demo_plan()
        role = args.role or plan["role"]
        _check_role(role)
        # Not the working tree unless asked (a demo run inside a checkout left dlverify-demo/ in it).
        out = _path(env, args.out) if args.out is not None else Path(tempfile.mkdtemp(prefix="dlverify-demo-"))
        answers_src = SAMPLES / plan["answers"]
        answers = load_answers(answers_src)
        try:
            graders = paths.graders_dir()
        except FileNotFoundError as exc:
            raise Usage(f"demo: {exc}") from None
        submissions: dict[str, Path] = {}
        for item in plan["submissions"]:
            source = graders / item["exercise"] / item["file"]
            if not source.is_file():
                raise Usage(f"demo: the sample submission {source} is missing from this installation")
            submissions[item["exercise"]] = source
        try:
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(answers_src, out / "answers.yaml")
        except OSError as exc:
            raise Usage(f"--out {out}: cannot write ({exc.strerror or exc})") from None
        env.console.print(f"dlverify demo: a sample candidate ({answers_src.name}) and three sample submissions",
                          highlight=False)
        docs = _grade_all(env, submissions, args.device, args.jobs)
        _write_results(env, out / "results", docs)
        results = results_from_dicts([(f"{ex} result", d) for ex, d in docs.items()], _known_exercises())
        env.console.print()
        code = _finish(env, args, answers, results, role,
                       {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"})
        env.console.print(f"reports in {markup(str(out))}", highlight=False)
        return code
    return _run(env, go)
