"""Grader results as evidence: read the grader's JSON (dlverify.report.result/1) and judge it.

A result is evidence about the candidate only when the candidate's code decided
it. `error` is the grader's own fault, and `not_verified` (or a pass where no
hidden case could run here: a CUDA pack on a CPU-only host) says nothing either
way: both are "unverified", never "failed".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..outcome import CaseStatus, Status
from ..packs.registry import EXERCISE_IDS
from ..report.result import SCHEMA

CANDIDATE_FAILURES = {Status.FAILED, Status.REJECTED, Status.TIMEOUT, Status.MEMORY, Status.CRASHED}


class ResultsError(ValueError):
    """A --results file is unusable; the message is one line naming the file."""


@dataclass(frozen=True)
class ExerciseResult:
    exercise: str
    status: str                  # the grader's status, as written
    outcome: str                 # passed | failed | unverified: what it means as evidence
    correctness_score: float
    throughput_score: float | None   # counted only when measured on a GPU (not indicative)
    cases_total: int
    cases_passed: int
    first_failure: str           # "case: message" of the first failing case, "" if none
    reason: str                  # why it is unverified, or what the grader summarised
    submission_sha256: str
    cases_not_run: int = 0       # counted apart, as grade's summary counts them (outcome.case_count)


def _fail(name: str, what: str) -> ResultsError:
    return ResultsError(f"{name}: {what}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_result(data: Any, name: str, known: Iterable[str] = EXERCISE_IDS) -> ExerciseResult:
    """Validate one result document and turn it into evidence."""
    if not isinstance(data, dict):
        raise _fail(name, f"expected a JSON object (a grader result), got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise _fail(name, f"not a grader result: schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    exercise = data.get("exercise")
    known = tuple(known)
    if exercise not in known:
        raise _fail(name, f"unknown exercise {exercise!r}; known: {', '.join(known)}")
    statuses = [s.value for s in Status]
    if data.get("status") not in statuses:
        raise _fail(name, f"status {data.get('status')!r} is not one of {', '.join(statuses)}")
    status = Status(data["status"])
    score = data.get("correctness_score")
    if not _number(score) or not 0 <= score <= 1:
        raise _fail(name, f"correctness_score must be a number from 0 to 1, got {score!r}")
    throughput = data.get("throughput")
    if throughput is not None and not isinstance(throughput, dict):
        raise _fail(name, "throughput must be null or an object")
    tscore = None
    if throughput:
        raw = throughput.get("score")
        if raw is not None and (not _number(raw) or not 0 <= raw <= 1):
            raise _fail(name, f"throughput.score must be null or a number from 0 to 1, got {raw!r}")
        # CPU timings are indicative only (result.py): they say nothing about GPU skill
        if raw is not None and throughput.get("indicative") is False:
            tscore = float(raw)
    cases = data.get("cases")
    if not isinstance(cases, list):
        raise _fail(name, "cases must be a list")
    case_statuses = [s.value for s in CaseStatus]
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("name"), str):
            raise _fail(name, f"cases[{i}] must be an object with a name")
        if case.get("status") not in case_statuses:
            raise _fail(name, f"cases[{i}] ({case['name']}): status {case.get('status')!r} is not a case status")
    not_verified = data.get("not_verified", [])
    if not isinstance(not_verified, list) or not all(
        isinstance(n, dict) and isinstance(n.get("what"), str) and isinstance(n.get("reason"), str)
        for n in not_verified
    ):
        raise _fail(name, "not_verified must be a list of {what, reason} objects")

    passed = sum(1 for c in cases if c["status"] == CaseStatus.PASSED.value)
    ran = [c for c in cases if c["status"] != CaseStatus.NOT_RUN.value]
    first_bad = next((c for c in ran if c["status"] != CaseStatus.PASSED.value), None)
    first_failure = ""
    if first_bad is not None:
        message = " ".join(str(first_bad.get("message", "")).split())
        first_failure = f"{first_bad['name']} ({first_bad['status']}): {message[:160]}".rstrip(": ")
    summary = " ".join(str(data.get("summary", "")).split())
    not_verified_status = getattr(Status, "NOT_VERIFIED", None)
    why = "; ".join(f"{n['what']}: {n['reason']}" for n in not_verified) or summary or "no hidden case ran"
    if status is Status.ERROR:
        outcome, reason = "unverified", f"grader error, not counted: {summary or 'no summary'}"
    elif status is not_verified_status or (status is Status.PASSED and passed == 0):
        outcome, reason = "unverified", f"nothing could be checked here ({why})"
    elif status is Status.PASSED:
        outcome, reason = "passed", summary
    elif status in CANDIDATE_FAILURES:
        outcome, reason = "failed", summary
    else:  # a status this version does not know how to weigh: not evidence either way
        outcome, reason = "unverified", f"status {status.value!r} not counted: {summary}"
    return ExerciseResult(
        exercise=exercise, status=status.value, outcome=outcome, correctness_score=float(score),
        throughput_score=tscore, cases_total=len(cases), cases_passed=passed,
        first_failure=first_failure, reason=reason,
        submission_sha256=str(data.get("submission_sha256", "")),
        cases_not_run=len(cases) - len(ran),
    )


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            # an empty folder is no results (a claims-only verdict), not a mistake
            out.extend(sorted(p for p in path.glob("*.json") if p.is_file()))
        elif path.is_file():
            out.append(path)
        else:
            raise ResultsError(f"{path}: no such file or folder")
    return out


def load_results(paths: Iterable[Path], known: Iterable[str] = EXERCISE_IDS) -> dict[str, ExerciseResult]:
    """Read result files and folders of *.json; one result per exercise."""
    known = tuple(known)
    results: dict[str, ExerciseResult] = {}
    origin: dict[str, Path] = {}
    for path in _files(paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ResultsError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
        except UnicodeDecodeError:
            raise ResultsError(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise ResultsError(f"{path}: cannot read ({exc.strerror})") from None
        result = parse_result(data, str(path), known)
        if result.exercise in results:
            raise ResultsError(
                f"{path}: a second result for {result.exercise!r} (the first is {origin[result.exercise]}); "
                "give one result per exercise"
            )
        results[result.exercise] = result
        origin[result.exercise] = path
    return results


def results_from_dicts(docs: Iterable[tuple[str, dict]], known: Iterable[str] = EXERCISE_IDS) -> dict[str, ExerciseResult]:
    """The same as load_results for documents already in memory, named for errors."""
    known = tuple(known)
    out: dict[str, ExerciseResult] = {}
    for name, doc in docs:
        result = parse_result(doc, name, known)
        if result.exercise in out:
            raise ResultsError(f"{name}: a second result for {result.exercise!r}")
        out[result.exercise] = result
    return out
