"""The gradebook's tables: cohorts and their assessments, candidates, attempts, answers, verdicts.

    Cohort 1-* Assessment (one per exercise the cohort is graded on)
    Cohort 1-* Candidate 1-* Attempt *-1 Assessment
                         1-* Answers, 1-* Verdict

and the tables of assessments run in the web app (`dlverify serve`), each on a cohort of its own:

    TimedAssessment 1-1 Cohort       (role, exercises, time box, due date)
    TimedAssessment 1-* Invite 1-1 Candidate    (the link, the time box's start, answers so far)
                        Invite 1-* Upload *-1 Attempt   (the bytes, their place in the grading queue)
    Staff                            (who may sign in)

An attempt is one graded submission, kept whole (`result`, the grader's JSON as
written) beside the columns a query filters or sorts on. Nothing is ever
overwritten: a re-grade is a new attempt, and a candidate's best and latest
attempt per exercise are queries (queries.py), never stored flags.

Changing a table means a new migration in migrations/versions/ (db.py runs them on open).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable, comparable: what a web app's filters want); text elsewhere.
Document = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """A UTC instant: stored naive in UTC (SQLite keeps no zone), always read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a gradebook time must carry its zone")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Cohort(Base):
    """A course offering or a hiring round: the unit a TA lists, exports and records into."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assessments: Mapped[list[Assessment]] = relationship(back_populates="cohort", cascade="all, delete-orphan",
                                                         order_by="Assessment.exercise")
    candidates: Mapped[list[Candidate]] = relationship(back_populates="cohort", cascade="all, delete-orphan",
                                                       order_by="Candidate.name")


class Assessment(Base):
    """One exercise a cohort is graded on; made when its first attempt is recorded."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("cohort_id", "exercise", name="uq_assessments_cohort_exercise"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    exercise: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="assessments")


class Candidate(Base):
    """A person within one cohort, by the name the hand-in gives them (file stem or folder name)."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("cohort_id", "name", name="uq_candidates_cohort_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="candidates")
    attempts: Mapped[list[Attempt]] = relationship(back_populates="candidate", cascade="all, delete-orphan",
                                                   order_by="Attempt.id")


class Attempt(Base):
    """One graded submission. The same result recorded twice (a batch re-run that kept it, an
    import of the same folder) is one attempt: `result_sha256` is its identity."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("candidate_id", "assessment_id", "result_sha256", name="uq_attempts_identity"),
        Index("ix_attempts_candidate_assessment", "candidate_id", "assessment_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))            # grade | grade-batch | import | verdict | web
    result_sha256: Mapped[str] = mapped_column(String(64))     # of the canonical result JSON
    submission_file: Mapped[str] = mapped_column(Text, default="")
    submission_sha256: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(32), index=True)   # outcome.Status values
    summary: Mapped[str] = mapped_column(Text, default="")
    correctness_score: Mapped[float] = mapped_column(Float, default=0.0)
    cases_passed: Mapped[int] = mapped_column(Integer, default=0)
    cases_total: Mapped[int] = mapped_column(Integer, default=0)     # cases that ran
    cases_not_run: Mapped[int] = mapped_column(Integer, default=0)
    # Throughput figures, null when not measured; `indicative` is true for CPU timings.
    throughput_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    speedup: Mapped[float | None] = mapped_column(Float, nullable=True)
    gbps: Mapped[float | None] = mapped_column(Float, nullable=True)
    tflops: Mapped[float | None] = mapped_column(Float, nullable=True)
    sol_fraction: Mapped[float | None] = mapped_column(Float, nullable=True)
    indicative: Mapped[bool | None] = mapped_column(nullable=True)
    device_kind: Mapped[str] = mapped_column(String(16), default="")
    device_name: Mapped[str] = mapped_column(String(200), default="")
    dlverify_version: Mapped[str] = mapped_column(String(64), default="")
    versions: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    runner: Mapped[str] = mapped_column(String(200), default="")
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    result: Mapped[dict[str, Any]] = mapped_column(Document)

    candidate: Mapped[Candidate] = relationship(back_populates="attempts")
    assessment: Mapped[Assessment] = relationship()

    @property
    def exercise(self) -> str:
        return self.assessment.exercise


class Answers(Base):
    """A candidate's questionnaire answers; the same answers twice are one row."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("candidate_id", "sha256", name="uq_answers_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))   # verdict.engine.answers_digest
    answers: Mapped[dict[str, Any]] = mapped_column(Document)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Verdict(Base):
    """One verdict report (dlverify.verdict/1) as given, with the figures a list shows."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    answers_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"), nullable=True)
    role: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(64))          # the band's id
    match_percent: Mapped[float] = mapped_column(Float)
    calibration_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    calibration_bias: Mapped[float | None] = mapped_column(Float, nullable=True)
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    report: Mapped[dict[str, Any]] = mapped_column(Document)


# --- the web app's tables (dlverify/web) -----------------------------------------------------

class Staff(Base):
    __tablename__ = "web_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimedAssessment(Base):
    """What staff create in the web app: a role profile, exercises, a time box and a due date.
    Its candidates, attempts and verdicts are recorded in its own cohort, so the CLI lists and
    exports it like any other (`dlverify gradebook show NAME`)."""

    __tablename__ = "web_assessment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    exercises: Mapped[list[str]] = mapped_column(Document)   # exercise ids, in the order shown
    time_box_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("web_staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship()
    invites: Mapped[list[Invite]] = relationship(back_populates="assessment", order_by="Invite.id")


class Invite(Base):
    """One candidate's way into one timed assessment. Only the token's hash is kept: a leaked
    database opens no one's assessment."""

    __tablename__ = "web_invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("web_assessment.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)   # section -> field -> value, so far
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)   # handed in early
    # When the verdict was last recorded (the assessment closed, nothing left to grade); a
    # re-grade clears it, so the verdict is recorded again on the new result.
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assessment: Mapped[TimedAssessment] = relationship(back_populates="invites")
    candidate: Mapped[Candidate] = relationship()
    uploads: Mapped[list[Upload]] = relationship(back_populates="invite", order_by="Upload.id")


class Upload(Base):
    """A submission as uploaded, and its place in the grading queue.

    state: queued -> running -> done | error. A worker that dies leaves `running` with a stale
    heartbeat; the next worker puts it back in the queue (or marks it `error` after MAX_TRIES),
    so no upload is ever dropped. A grading's result is the gradebook attempt it recorded."""

    __tablename__ = "web_upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("web_invite.id", ondelete="CASCADE"), index=True)
    exercise: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    suffix: Mapped[str] = mapped_column(String(8))                 # .py | .ipynb
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)   # the grading's status
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"), nullable=True)

    invite: Mapped[Invite] = relationship(back_populates="uploads")
    attempt: Mapped[Attempt | None] = relationship()

    @property
    def result(self) -> dict[str, Any] | None:
        """The grader's result, as recorded in the gradebook."""
        return self.attempt.result if self.attempt is not None else None
