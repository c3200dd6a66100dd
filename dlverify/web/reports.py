"""A candidate's verdict from what the web app holds: their answers and their latest graded
uploads, through the same verdict engine as `dlverify verdict`; and, once their assessment has
closed, that verdict recorded in the gradebook."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..gradebook import record
from ..gradebook.models import Invite, TimedAssessment, Upload, utcnow
from ..verdict.answers import Answers, AnswersError
from ..verdict.results import ResultsError, results_from_dicts
from . import timebox

PENDING = ("queued", "running")


def latest_uploads(invite: Invite) -> dict[str, Upload]:
    """The newest upload of each exercise, graded or not (what a dashboard shows)."""
    return {upload.exercise: upload for upload in invite.uploads}   # ordered by id: the last one wins


def latest_graded(invite: Invite) -> dict[str, Upload]:
    """The last upload of each exercise that was graded (a grader `error` is nobody's answer)."""
    latest: dict[str, Upload] = {}
    for upload in invite.uploads:
        if upload.state == "done" and upload.result is not None:
            latest[upload.exercise] = upload
    return latest


def build(invite: Invite) -> tuple[dict[str, Any] | None, str | None]:
    """(report, None), or (None, why there is no verdict yet)."""
    from ..verdict.engine import build_report

    if not invite.answered:
        return None, "the questionnaire is not finished"
    try:
        answers = Answers.from_dict(invite.answers)
    except AnswersError as exc:
        return None, f"the answers are incomplete ({exc})"
    try:
        results = results_from_dicts((f"upload {u.id}", u.result) for u in latest_graded(invite).values())
    except ResultsError as exc:
        return None, f"a graded result could not be read ({exc})"
    return build_report(answers, results, invite.assessment.role), None


def settle(session: Session, invite: Invite) -> bool:
    """Record the candidate's answers and verdict in the gradebook once their assessment has
    closed and nothing of theirs waits to be graded; True when it did. The caller commits."""
    from ..verdict.engine import answers_digest

    if invite.verdict_at is not None or timebox.closed_reason(invite) is None:
        return False
    if any(upload.state in PENDING for upload in invite.uploads):
        return False   # recorded when the last grading lands
    report, _why = build(invite)
    if report is None:
        return False   # no verdict to give (an unfinished questionnaire): the dashboard says why
    # Taken with one conditional UPDATE, as the queue's claim: of two workers settling it at once
    # (PostgreSQL runs them side by side), the second waits for the first and then finds it taken.
    taken = session.execute(update(Invite).where(Invite.id == invite.id, Invite.verdict_at.is_(None))
                            .values(verdict_at=utcnow()))
    if taken.rowcount != 1:
        return False
    answers = Answers.from_dict(invite.answers)
    cohort, name = invite.assessment.cohort, invite.candidate.name
    stored = record.record_answers(session, cohort, name, answers.to_dict(), answers_digest(answers))
    record.record_verdict(session, cohort, name, report, stored)
    return True


def settle_closed(session: Session) -> int:
    """Every invitation whose verdict is due (the time box or due date passed while nobody
    looked): what a grading worker does between uploads. Commits; returns how many."""
    waiting = session.scalars(select(Invite).join(TimedAssessment)
                              .where(Invite.verdict_at.is_(None), Invite.answered.is_(True))).all()
    settled = sum(settle(session, invite) for invite in waiting)
    session.commit()
    return settled
