"""Reading the gradebook: what the CLI lists and exports, and what a web app will serve.

Which attempt counts for a candidate's exercise is a query, never a stored flag:

    latest  the most recent graded attempt (a course's rule: the last hand-in counts)
    best    passed before not, then correctness, then throughput (a hiring round's rule)

Under either rule an attempt that says nothing about the submission, a grader
`error` or `not_verified` (could not run here), counts only when the candidate
has no other: a grader fault on a re-run never hides the grade before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from ..outcome import Status
from .models import Assessment, Attempt, Candidate, Cohort, Verdict
from .record import find_cohort

POLICIES = ("latest", "best")
UNINFORMATIVE = (Status.ERROR.value, Status.NOT_VERIFIED.value)


@dataclass
class CohortSummary:
    name: str
    title: str
    created_at: datetime
    candidates: int
    attempts: int
    exercises: list[str]


@dataclass
class CandidateSummary:
    name: str
    attempts: int
    counted: dict[str, Attempt] = field(default_factory=dict)   # exercise -> the attempt that counts
    verdict: Verdict | None = None                               # the latest verdict given


def cohorts(session: Session) -> list[CohortSummary]:
    people = (select(Candidate.cohort_id, func.count(Candidate.id).label("n"))
              .group_by(Candidate.cohort_id).subquery())
    tries = (select(Candidate.cohort_id, func.count(Attempt.id).label("n"))
             .join(Attempt, Attempt.candidate_id == Candidate.id).group_by(Candidate.cohort_id).subquery())
    rows = session.execute(
        select(Cohort, func.coalesce(people.c.n, 0), func.coalesce(tries.c.n, 0))
        .outerjoin(people, people.c.cohort_id == Cohort.id).outerjoin(tries, tries.c.cohort_id == Cohort.id)
        .options(selectinload(Cohort.assessments)).order_by(Cohort.name)).all()
    return [CohortSummary(c.name, c.title, c.created_at, int(n_people), int(n_tries),
                          [a.exercise for a in c.assessments]) for c, n_people, n_tries in rows]


def exercises(session: Session, cohort: Cohort) -> list[str]:
    return list(session.scalars(select(Assessment.exercise).where(Assessment.cohort_id == cohort.id)
                                .order_by(Assessment.exercise)))


def _order(policy: str) -> list:
    uninformative = case((Attempt.status.in_(UNINFORMATIVE), 1), else_=0)
    when = func.coalesce(Attempt.graded_at, Attempt.recorded_at)
    if policy == "latest":
        return [uninformative, when.desc(), Attempt.id.desc()]
    if policy == "best":
        not_passed = case((Attempt.status == Status.PASSED.value, 0), else_=1)
        return [uninformative, not_passed, Attempt.correctness_score.desc(),
                Attempt.throughput_score.desc().nulls_last(), when.desc(), Attempt.id.desc()]
    raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")


def counted_attempts(session: Session, cohort: Cohort, policy: str = "latest", *,
                     candidate: str | None = None, exercise: str | None = None) -> list[Attempt]:
    """The attempt that counts, per candidate and exercise of the cohort, by `policy`."""
    rank = func.row_number().over(partition_by=(Attempt.candidate_id, Attempt.assessment_id),
                                  order_by=_order(policy)).label("rank")
    ranked = (select(Attempt.id, rank).join(Candidate, Candidate.id == Attempt.candidate_id)
              .join(Assessment, Assessment.id == Attempt.assessment_id)
              .where(Candidate.cohort_id == cohort.id))
    if candidate is not None:
        ranked = ranked.where(Candidate.name == candidate)
    if exercise is not None:
        ranked = ranked.where(Assessment.exercise == exercise)
    ranked = ranked.subquery()
    return list(session.scalars(
        select(Attempt).join(ranked, ranked.c.id == Attempt.id).where(ranked.c.rank == 1)
        .options(selectinload(Attempt.candidate), selectinload(Attempt.assessment))
        .order_by(Attempt.candidate_id, Attempt.assessment_id)))


def find_candidate(session: Session, cohort: Cohort, name: str) -> Candidate:
    from .db import GradebookError

    person = session.scalars(select(Candidate).where(Candidate.cohort_id == cohort.id,
                                                     Candidate.name == name)).one_or_none()
    if person is None:
        raise GradebookError(f"no candidate {name!r} in cohort {cohort.name!r} "
                             f"(`dlverify gradebook candidates {cohort.name}` lists them)")
    return person


def history(session: Session, person: Candidate, exercise: str | None = None) -> list[Attempt]:
    """Every attempt of the candidate, oldest first (by when it was graded)."""
    stmt = (select(Attempt).join(Assessment, Assessment.id == Attempt.assessment_id)
            .where(Attempt.candidate_id == person.id)
            .options(selectinload(Attempt.assessment), selectinload(Attempt.candidate))
            .order_by(Assessment.exercise, func.coalesce(Attempt.graded_at, Attempt.recorded_at), Attempt.id))
    if exercise is not None:
        stmt = stmt.where(Assessment.exercise == exercise)
    return list(session.scalars(stmt))


def latest_verdicts(session: Session, cohort: Cohort) -> dict[int, Verdict]:
    """The newest verdict of each candidate of the cohort that has one, by candidate id."""
    rank = func.row_number().over(partition_by=Verdict.candidate_id,
                                  order_by=(Verdict.recorded_at.desc(), Verdict.id.desc())).label("rank")
    ranked = (select(Verdict.id, rank).join(Candidate, Candidate.id == Verdict.candidate_id)
              .where(Candidate.cohort_id == cohort.id).subquery())
    found = session.scalars(select(Verdict).join(ranked, ranked.c.id == Verdict.id).where(ranked.c.rank == 1))
    return {v.candidate_id: v for v in found}


def verdicts(session: Session, person: Candidate) -> list[Verdict]:
    return list(session.scalars(select(Verdict).where(Verdict.candidate_id == person.id)
                                .order_by(Verdict.recorded_at, Verdict.id)))


def candidates(session: Session, cohort: Cohort, policy: str = "latest") -> list[CandidateSummary]:
    """Every candidate of the cohort, with the attempt that counts per exercise and their verdict."""
    counts = dict(session.execute(
        select(Candidate.id, func.count(Attempt.id)).outerjoin(Attempt, Attempt.candidate_id == Candidate.id)
        .where(Candidate.cohort_id == cohort.id).group_by(Candidate.id)).all())
    people = session.scalars(select(Candidate).where(Candidate.cohort_id == cohort.id).order_by(Candidate.name))
    out = {p.id: CandidateSummary(p.name, int(counts.get(p.id, 0))) for p in people}
    for attempt in counted_attempts(session, cohort, policy):
        out[attempt.candidate_id].counted[attempt.assessment.exercise] = attempt
    for candidate_id, verdict in latest_verdicts(session, cohort).items():
        out[candidate_id].verdict = verdict
    return list(out.values())


def cohort_named(session: Session, name: str) -> Cohort:
    return find_cohort(session, name)


# --- as plain data (the CLI's --json; a web app's responses) ---------------------------------

def when(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def attempt_data(attempt: Attempt) -> dict:
    return {
        "id": attempt.id, "candidate": attempt.candidate.name, "exercise": attempt.assessment.exercise,
        "status": attempt.status, "summary": attempt.summary, "correctness_score": attempt.correctness_score,
        "cases_passed": attempt.cases_passed, "cases_total": attempt.cases_total,
        "cases_not_run": attempt.cases_not_run, "throughput_score": attempt.throughput_score,
        "speedup": attempt.speedup, "gbps": attempt.gbps, "tflops": attempt.tflops,
        "sol_fraction": attempt.sol_fraction, "indicative": attempt.indicative,
        "device": attempt.device_kind, "device_name": attempt.device_name,
        "dlverify_version": attempt.dlverify_version, "submission_file": attempt.submission_file,
        "submission_sha256": attempt.submission_sha256, "source": attempt.source, "runner": attempt.runner,
        "graded_at": when(attempt.graded_at), "recorded_at": when(attempt.recorded_at),
    }


def verdict_data(verdict: Verdict) -> dict:
    calibration = (verdict.report or {}).get("calibration") or {}
    return {"id": verdict.id, "role": verdict.role, "verdict": verdict.verdict,
            "match_percent": verdict.match_percent, "calibration_percent": verdict.calibration_percent,
            "calibration_bias": verdict.calibration_bias, "calibration_summary": calibration.get("summary"),
            "generated_at": when(verdict.generated_at), "recorded_at": when(verdict.recorded_at)}
