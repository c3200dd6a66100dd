"""The web app's own tables: staff, assessments, invitations, uploads (the grading queue).

Candidates' graded attempts and verdicts are the gradebook's; these tables hold what only a
web session needs: who may sign in, which link opens which assessment, and what waits to be graded.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)  # stored naive, always UTC


class Base(DeclarativeBase):
    pass


class Staff(Base):
    __tablename__ = "web_staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Assessment(Base):
    __tablename__ = "web_assessment"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    exercises: Mapped[list] = mapped_column(JSON)          # exercise ids, in the order shown
    time_box_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("web_staff.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    invites: Mapped[list["Invite"]] = relationship(back_populates="assessment", order_by="Invite.id")


class Invite(Base):
    """One candidate's way into one assessment. Only the token's hash is kept: a leaked
    database does not open anyone's assessment."""
    __tablename__ = "web_invite"
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("web_assessment.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    first_visit_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)     # section -> field -> value
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # handed in early
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    assessment: Mapped[Assessment] = relationship(back_populates="invites")
    uploads: Mapped[list["Upload"]] = relationship(back_populates="invite", order_by="Upload.id")


class Upload(Base):
    """A submission as uploaded, and its place in the grading queue.

    state: queued -> running -> done | error. A worker that dies leaves `running` with a stale
    heartbeat; the next worker or the web process puts it back in the queue (or marks it `error`
    after MAX_TRIES), so no upload is ever dropped."""
    __tablename__ = "web_upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("web_invite.id"), index=True)
    exercise: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    suffix: Mapped[str] = mapped_column(String(8))               # .py | .ipynb
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)   # the grading's status
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)        # the result's dict
    invite: Mapped[Invite] = relationship(back_populates="uploads")
