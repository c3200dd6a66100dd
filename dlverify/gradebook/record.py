"""Writing into the gradebook: cohorts, candidates, attempts, answers, verdicts.

Every function takes an open session (Gradebook.writing()) and leaves the
commit to its caller, so a caller can record several things in one transaction.
Get-or-create is INSERT ... ON CONFLICT DO NOTHING and then a SELECT: two
processes recording the same candidate at once both get the one row, on SQLite
and on PostgreSQL, without either transaction failing on a unique key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .db import GradebookError
from .models import Answers, Assessment, Attempt, Candidate, Cohort, Verdict, utcnow

SOURCES = ("grade", "grade-batch", "import", "verdict", "web")
MAX_NAME = 300   # Candidate.name's width
MAX_COHORT = 200


# What no backend keeps as text: NUL (PostgreSQL's text and JSONB refuse it) and lone surrogates
# (UTF-8 has none). A submission's own text (an exception message, its output) reaches results.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnknownCohort(GradebookError):
    pass


def storable(value: Any) -> Any:
    """A JSON document (or a string) with U+FFFD for each character no backend can store."""
    if isinstance(value, str):
        return UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    return value


def _insert_ignoring(session: Session, model: type, values: dict[str, Any], keys: tuple[str, ...]):
    """The row with these keys, inserted if absent (by whichever writer gets there first), and
    whether this call inserted it."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING says whether this insert made the row (rowcount is not reliable across drivers here).
    made = session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
                           .returning(model.id)).scalar_one_or_none()
    row = session.scalars(select(model).filter_by(**{k: values[k] for k in keys})).one()
    return row, made is not None


def check_name(kind: str, name: str, width: int) -> str:
    if not isinstance(name, str) or not name.strip():
        raise GradebookError(f"a {kind} name must not be empty")
    if len(name) > width:
        raise GradebookError(f"a {kind} name has at most {width} characters ({len(name)} given)")
    return name


def find_cohort(session: Session, name: str) -> Cohort:
    """The cohort by that name, or a GradebookError naming the ones there are."""
    cohort = session.scalars(select(Cohort).where(Cohort.name == name)).one_or_none()
    if cohort is None:
        known = session.scalars(select(Cohort.name).order_by(Cohort.name).limit(11)).all()
        listed = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "") if known else "none yet"
        raise UnknownCohort(f"unknown cohort {name!r} (known: {listed}); "
                            f"create it with: dlverify gradebook add-cohort {name}")
    return cohort


def add_cohort(session: Session, name: str, title: str = "") -> tuple[Cohort, bool]:
    """The cohort, and whether this call made it."""
    check_name("cohort", name, MAX_COHORT)
    return _insert_ignoring(session, Cohort, {"name": name, "title": title, "created_at": utcnow()}, ("name",))


def candidate(session: Session, cohort: Cohort, name: str) -> Candidate:
    check_name("candidate", name, MAX_NAME)
    return _insert_ignoring(session, Candidate, {"cohort_id": cohort.id, "name": name, "created_at": utcnow()},
                            ("cohort_id", "name"))[0]


def assessment(session: Session, cohort: Cohort, exercise: str) -> Assessment:
    return _insert_ignoring(session, Assessment, {"cohort_id": cohort.id, "exercise": exercise,
                                                  "created_at": utcnow()}, ("cohort_id", "exercise"))[0]


def canonical_digest(document: Any) -> str:
    """sha256 of a JSON document's canonical form: the same document, the same digest, however
    its keys were ordered or its file indented."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from a result or report ("...Z" too, which Python 3.10 does not read)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def attempt_columns(result: dict[str, Any]) -> dict[str, Any]:
    """The columns of an attempt, read off a grader result (dlverify.report.result/1)."""
    cases = [c for c in result.get("cases") or [] if isinstance(c, dict)]
    not_run = sum(c.get("status") == "not_run" for c in cases)
    tp = result.get("throughput") if isinstance(result.get("throughput"), dict) else {}
    device = result.get("device") if isinstance(result.get("device"), dict) else {}
    versions = result.get("versions") if isinstance(result.get("versions"), dict) else {}
    return {
        "submission_file": str(result.get("submission_file") or ""),
        "submission_sha256": str(result.get("submission_sha256") or "")[:64],
        "status": str(result["status"]),
        "summary": str(result.get("summary") or ""),
        "correctness_score": _number(result.get("correctness_score")) or 0.0,
        "cases_passed": sum(c.get("status") == "passed" for c in cases),
        "cases_total": len(cases) - not_run,
        "cases_not_run": not_run,
        "throughput_score": _number(tp.get("score")),
        "speedup": _number(tp.get("speedup")),
        "gbps": _number(tp.get("gbps")),
        "tflops": _number(tp.get("tflops")),
        "sol_fraction": _number(tp.get("sol_fraction")),
        "indicative": tp.get("indicative") if isinstance(tp.get("indicative"), bool) else None,
        "device_kind": str(device.get("kind") or "")[:16],
        "device_name": str(device.get("name") or "")[:200],
        "dlverify_version": str(versions.get("dlverify") or "")[:64],
        "versions": versions,
        "graded_at": parse_time(result.get("graded_at")),
    }


def check_result(result: Any, name: str) -> dict[str, Any]:
    """A grader result fit to record, or a GradebookError naming `name` and what is wrong."""
    from ..verdict.results import ResultsError, parse_result

    try:
        parse_result(result, name)
    except ResultsError as exc:
        raise GradebookError(str(exc)) from None
    return result


@dataclass(frozen=True)
class Recorded:
    attempt: Attempt
    created: bool    # False: the very same result was recorded before


def record_attempt(session: Session, cohort: Cohort, candidate_name: str, result: dict[str, Any], *,
                   source: str, runner: str = "") -> Recorded:
    """One graded submission into the cohort, as an attempt of `candidate_name` (made if new)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    result = storable(result)
    check_result(result, f"result of {candidate_name}")
    person = candidate(session, cohort, candidate_name)
    task = assessment(session, cohort, result["exercise"])
    values = {"candidate_id": person.id, "assessment_id": task.id, "source": source,
              "result_sha256": canonical_digest(result), "runner": runner[:200], "recorded_at": utcnow(),
              "result": result, **attempt_columns(result)}
    attempt, created = _insert_ignoring(session, Attempt, values, ("candidate_id", "assessment_id", "result_sha256"))
    return Recorded(attempt, created)


def record_answers(session: Session, cohort: Cohort, candidate_name: str, answers: dict[str, Any],
                   sha256: str) -> Answers:
    person = candidate(session, cohort, candidate_name)
    return _insert_ignoring(session, Answers, {"candidate_id": person.id, "sha256": sha256,
                                               "answers": storable(answers), "recorded_at": utcnow()},
                            ("candidate_id", "sha256"))[0]


def record_verdict(session: Session, cohort: Cohort, candidate_name: str, report: dict[str, Any],
                   answers: Answers | None = None) -> Verdict:
    """A verdict report (dlverify.verdict/1) for the candidate; every verdict given is kept."""
    person = candidate(session, cohort, candidate_name)
    report = storable(report)
    calibration = report.get("calibration") or {}
    verdict = Verdict(candidate_id=person.id, answers_id=answers.id if answers is not None else None,
                      role=str(report["role"]), verdict=str(report["verdict"]),
                      match_percent=float(report["match_percent"]),
                      calibration_percent=_number(calibration.get("percent")),
                      calibration_bias=_number(calibration.get("bias")),
                      generated_at=parse_time(report.get("generated_at")), recorded_at=utcnow(), report=report)
    session.add(verdict)
    session.flush()
    return verdict
