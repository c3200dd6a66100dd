"""What every page needs: the templates, the session's user, the form check."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from ..gradebook.models import Invite, Staff, utcnow
from ..gradebook.record import storable
from . import timebox
from .security import csrf_ok, csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))  # autoescaped (.html)

STATUS_WORDS = {   # the word is the signal; the colour only repeats it
    "passed": "passed", "failed": "failed", "rejected": "rejected", "crashed": "crashed",
    "timeout": "timed out", "memory": "out of memory", "error": "grader error", "not_verified": "not verified",
    "unreadable": "unreadable", "queued": "queued", "running": "grading",
}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


templates.env.filters["when"] = when
templates.env.globals["status_word"] = lambda s: STATUS_WORDS.get(s or "", s or "")


def render(request: Request, name: str, status_code: int = 200, **context: Any):
    context.setdefault("csrf", csrf_token(request.session))
    context.setdefault("signed_in", bool(request.session.get("staff")))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    """After a form: the browser fetches the next page with GET (a reload never posts twice)."""
    return RedirectResponse(url, status_code=303)


async def checked_form(request: Request):
    """The posted form, after its CSRF token is checked against the session's."""
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf")):
        raise HTTPException(403, "this form has expired or did not come from this site; reload the page and try again")
    # A NUL is nothing a person types, and PostgreSQL keeps none in text or JSONB: U+FFFD instead.
    return FormData([(key, storable(value) if isinstance(value, str) else value) for key, value in form.multi_items()])


def current_staff(request: Request) -> Staff:
    db = request.state.db
    staff_id = request.session.get("staff")
    staff = db.get(Staff, staff_id) if isinstance(staff_id, int) else None
    issued = request.session.get("staff_at", 0)
    settings = request.app.state.settings
    if staff is None or utcnow().timestamp() - issued > settings.staff_session.total_seconds():
        request.session.pop("staff", None)
        raise HTTPException(303, headers={"Location": "/staff/sign-in"})
    return staff


def current_invite(request: Request) -> Invite:
    db = request.state.db
    invite_id = request.session.get("invite")
    invite = db.get(Invite, invite_id) if isinstance(invite_id, int) else None
    if invite is None:
        raise HTTPException(403, "open the link from your invitation to start or continue your assessment")
    if not timebox.link_open(invite):
        raise HTTPException(403, "this invitation has expired; ask the team that sent it for a new one")
    return invite
