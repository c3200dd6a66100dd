"""When a candidate may work: the time box starts at the first visit and ends at the box's end,
the assessment's due date, or the candidate's own hand-in, whichever comes first."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..gradebook.models import Invite, utcnow


def ends_at(invite: Invite) -> datetime:
    due = invite.assessment.due_at
    if invite.first_visit_at is None:
        return due
    end = min(due, invite.first_visit_at + timedelta(minutes=invite.assessment.time_box_minutes))
    return min(end, invite.finished_at) if invite.finished_at else end


def closed_reason(invite: Invite, now: datetime | None = None) -> str | None:
    """None while the candidate may still answer and upload; else why not, in one line."""
    now = now or utcnow()
    if invite.finished_at and invite.finished_at <= now:
        return "you handed in this assessment"
    if now >= invite.assessment.due_at:
        return f"the assessment closed at its due date ({invite.assessment.due_at:%Y-%m-%d %H:%M} UTC)"
    if invite.first_visit_at is not None and now >= ends_at(invite):
        return f"your {invite.assessment.time_box_minutes}-minute time box has ended"
    return None


def minutes_left(invite: Invite, now: datetime | None = None) -> int:
    left = (ends_at(invite) - (now or utcnow())).total_seconds()
    return max(0, int(left // 60))


REPORT_DAYS = timedelta(days=30)   # how long a started assessment's link still opens its report


def link_open(invite: Invite, now: datetime | None = None) -> bool:
    """Whether the invitation still lets its candidate in: until it expires, and, once they have
    started, until REPORT_DAYS after the due date (the report shows only after the close, and
    the due date closes it). A link never opened stays expired."""
    now = now or utcnow()
    if now <= invite.expires_at:
        return True
    return invite.first_visit_at is not None and now < invite.assessment.due_at + REPORT_DAYS
