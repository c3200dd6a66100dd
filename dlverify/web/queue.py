"""The grading queue, kept in the database so that it survives any process.

A claim is one conditional UPDATE (`... WHERE id = :id AND state = 'queued'`): of two workers
racing for an upload exactly one sees a row changed, on SQLite and PostgreSQL alike, without
locks held across a grading. A running upload carries a heartbeat; one whose heartbeat is stale
belonged to a worker that died, and goes back to the queue (or to `error` after MAX_TRIES)."""

from __future__ import annotations

from datetime import timedelta

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..gradebook import record
from ..gradebook.models import Upload, utcnow

MAX_TRIES = 3
STALE_AFTER = timedelta(seconds=90)   # a worker beats every HEARTBEAT_SECONDS while it grades
HEARTBEAT_SECONDS = 10.0


def claim(session: Session, worker: str) -> Upload | None:
    """The oldest queued upload, now this worker's; None when the queue is empty."""
    while True:
        upload_id = session.scalars(select(Upload.id).where(Upload.state == "queued")
                                    .order_by(Upload.id).limit(1)).first()
        if upload_id is None:
            return None
        changed = session.execute(
            update(Upload).where(Upload.id == upload_id, Upload.state == "queued")
            .values(state="running", worker=worker, heartbeat_at=utcnow(), tries=Upload.tries + 1)
            .execution_options(synchronize_session=False))
        session.commit()
        if changed.rowcount == 1:
            return session.get(Upload, upload_id, populate_existing=True)
        # another worker took it between our read and our update: try the next one


def beat(session: Session, upload_id: int, worker: str) -> None:
    session.execute(update(Upload).where(Upload.id == upload_id, Upload.worker == worker,
                                         Upload.state == "running").values(heartbeat_at=utcnow()))
    session.commit()


def finish(session: Session, upload_id: int, worker: str, *, state: str, status: str | None,
           summary: str, result: dict[str, Any] | None) -> bool:
    """Store a grading's outcome, its result as an attempt in the candidate's cohort, in one
    transaction; False when the upload is no longer this worker's (it was judged dead and
    re-queued meanwhile: the newer grading wins, this one is dropped)."""
    changed = session.execute(
        update(Upload).where(Upload.id == upload_id, Upload.worker == worker, Upload.state == "running")
        .values(state=state, status=status, summary=record.storable(summary), heartbeat_at=utcnow())
        .execution_options(synchronize_session=False))
    if changed.rowcount != 1:
        session.rollback()
        return False
    if result is not None:
        upload = session.get(Upload, upload_id, populate_existing=True)
        invite = upload.invite
        recorded = record.record_attempt(session, invite.assessment.cohort, invite.candidate.name, result,
                                         source="web", runner=worker)
        upload.attempt_id = recorded.attempt.id
    session.commit()
    return True


def reap(session: Session, now=None) -> int:
    """Running uploads whose worker stopped beating: back to the queue, or `error` when they
    have been tried MAX_TRIES times (a submission that kills every worker is still an answer)."""
    now = now or utcnow()
    stale = now - STALE_AFTER
    dead = session.scalars(select(Upload).where(Upload.state == "running", Upload.heartbeat_at < stale)).all()
    for upload in dead:
        if upload.tries >= MAX_TRIES:
            upload.state, upload.status = "error", "error"
            upload.summary = (f"the grading worker stopped {upload.tries} times while grading this upload; "
                              "staff can re-grade it")
        else:
            upload.state, upload.worker = "queued", None
    session.commit()
    return len(dead)


def requeue(session: Session, upload: Upload) -> None:
    """Staff's re-grade: the same bytes graded again (a new secret seed, the current grader)."""
    upload.state, upload.tries, upload.worker = "queued", 0, None
    upload.status = upload.summary = None
    upload.attempt_id = None          # the attempt it recorded stays in the gradebook's history
    upload.invite.verdict_at = None   # the verdict is recorded again on the new result
    session.commit()
