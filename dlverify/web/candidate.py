"""Candidate pages: the invitation link, the questionnaire one question at a time, the
exercises (handout downloads, uploads, grading progress) and, once closed, the report."""

from __future__ import annotations

import hashlib
from pathlib import PurePath

import nbformat
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select, update

from ..gradebook.models import Invite, Upload, utcnow
from ..gradebook.record import storable
from ..packs.handout import render_readme
from ..packs.notebook import starter_notebook
from ..packs.registry import get_exercise
from ..verdict.answers import QUESTIONS
from ..verdict.questionnaire import parse_input
from . import reports, timebox
from .pages import checked_form, current_invite, render, see_other
from .security import token_hash

router = APIRouter()
SUFFIXES = {".py": ("text/x-python", "text/plain", "application/x-python-code", "application/octet-stream", ""),
            ".ipynb": ("application/x-ipynb+json", "application/json", "application/octet-stream", "text/plain", "")}


@router.get("/take/{token}")
def take(request: Request, token: str):
    db = request.state.db
    invite = db.scalars(select(Invite).where(Invite.token_hash == token_hash(token))).first()
    if invite is None or not timebox.link_open(invite):
        raise HTTPException(404, "this invitation link is not valid (mistyped, or expired); "
                                 "ask the team that sent it for a new one")
    if invite.first_visit_at is None and timebox.closed_reason(invite) is None:
        # The time box starts now. A page view reads; this one write has a transaction of its own
        # (and the WHERE keeps the first visit's time if two tabs open the link at once).
        with request.app.state.book.writing() as w:
            w.execute(update(Invite).where(Invite.id == invite.id, Invite.first_visit_at.is_(None))
                      .values(first_visit_at=utcnow()))
    request.session.clear()
    request.session["invite"] = invite.id
    return see_other("/assessment")


@router.get("/assessment")
def overview(request: Request):
    invite = current_invite(request)
    closed = timebox.closed_reason(invite)
    latest = reports.latest_uploads(invite)
    exercises = [(e, get_exercise(e).title, latest.get(e)) for e in invite.assessment.exercises]
    answered = sum(1 for q in QUESTIONS if q.section in invite.answers)
    return render(request, "candidate_home.html", invite=invite, closed=closed, exercises=exercises,
                  answered=answered, total=len(QUESTIONS), minutes_left=timebox.minutes_left(invite))


def _question(number: int):
    if not 1 <= number <= len(QUESTIONS):
        raise HTTPException(404, "no such question")
    return QUESTIONS[number - 1]


@router.get("/assessment/questions/{number}")
def question_page(request: Request, number: int):
    invite = current_invite(request)
    question = _question(number)
    saved = invite.answers.get(question.section, {})
    values = {f.name: _shown(f, saved.get(f.name)) for f in question.fields}
    return render(request, "question.html", invite=invite, q=question, number=number, total=len(QUESTIONS),
                  values=values, errors={}, closed=timebox.closed_reason(invite))


def _shown(field, value) -> str:
    if value is None:
        return ""
    if field.kind == "bool":
        return "yes" if value else "no"
    if field.kind == "list":
        return ", ".join(value)
    return str(value)


@router.post("/assessment/questions/{number}")
async def answer(request: Request, number: int):
    form = await checked_form(request)   # the body first: see upload()
    invite = current_invite(request)
    question = _question(number)
    closed = timebox.closed_reason(invite)
    if closed:
        raise HTTPException(403, f"answers can no longer be changed: {closed}")
    values, errors, parsed = {}, {}, {}
    for f in question.fields:
        text = str(form.get(f.name, ""))[:2000]
        values[f.name] = text
        value, error = parse_input(f, text)
        if error:
            errors[f.name] = error
        else:
            parsed[f.name] = value
    if errors:
        return render(request, "question.html", status_code=400, invite=invite, q=question, number=number,
                      total=len(QUESTIONS), values=values, errors=errors, closed=None)
    answers = dict(invite.answers)
    answers[question.section] = parsed
    invite.answers = answers       # a new dict: the JSON column sees the change
    invite.answered = all(q.section in answers for q in QUESTIONS)
    request.state.db.commit()
    if number < len(QUESTIONS):
        return see_other(f"/assessment/questions/{number + 1}")
    return see_other("/assessment")


def _exercise(invite: Invite, exercise_id: str):
    if exercise_id not in invite.assessment.exercises:
        raise HTTPException(404, "this exercise is not part of your assessment")
    return get_exercise(exercise_id)


@router.get("/assessment/exercises/{exercise_id}/README.md")
def readme(request: Request, exercise_id: str):
    exercise = _exercise(current_invite(request), exercise_id)
    return Response(render_readme(exercise), media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{exercise_id}-README.md"'})


@router.get("/assessment/exercises/{exercise_id}/solution.{kind}")
def starter(request: Request, exercise_id: str, kind: str):
    exercise = _exercise(current_invite(request), exercise_id)
    if kind == "py":
        body, media = exercise.starter.read_bytes(), "text/x-python"
    elif kind == "ipynb":
        body, media = nbformat.writes(starter_notebook(exercise)).encode() + b"\n", "application/x-ipynb+json"
    else:
        raise HTTPException(404, "starters come as .py or .ipynb")
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{exercise_id}-solution.{kind}"'})


@router.post("/assessment/exercises/{exercise_id}/upload")
async def upload(request: Request, exercise_id: str):
    # Everything the candidate sends is read before the first query: a form's transaction holds
    # SQLite's write lock from that query on, and must never wait on the candidate's connection
    # (the grading workers would fail "database is locked"). Nor may it span an await.
    cap = request.app.state.settings.max_upload_bytes
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > cap + 64 * 1024:
        raise HTTPException(413, f"uploads are limited to {cap // 1024} KiB")
    form = await checked_form(request)
    file = form.get("file")
    if file is None or not hasattr(file, "read") or not file.filename:
        raise HTTPException(400, "choose a .py or .ipynb file to upload")
    name = PurePath(storable(file.filename)).name[:200]
    suffix = PurePath(name).suffix.lower()
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    if suffix not in SUFFIXES:
        raise HTTPException(400, f"{name!r} is not a .py or .ipynb file")
    if content_type not in SUFFIXES[suffix]:
        raise HTTPException(400, f"{name!r} was sent as {content_type!r}, which is not a Python file or notebook")
    content = await file.read(cap + 1)
    if len(content) > cap:
        raise HTTPException(413, f"uploads are limited to {cap // 1024} KiB")
    if not content.strip():
        raise HTTPException(400, f"{name!r} is empty")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, f"{name!r} is not UTF-8 text") from None
    invite = current_invite(request)
    exercise = _exercise(invite, exercise_id)
    closed = timebox.closed_reason(invite)
    if closed:
        raise HTTPException(403, f"uploads are closed: {closed}")
    db = request.state.db
    row = Upload(invite_id=invite.id, exercise=exercise.id, filename=name, suffix=suffix, content=content,
                 sha256=hashlib.sha256(content).hexdigest(), state="queued")
    db.add(row)
    db.commit()
    return see_other(f"/assessment/uploads/{row.id}")


@router.get("/assessment/uploads/{upload_id}")
def upload_page(request: Request, upload_id: int):
    invite = current_invite(request)
    row = request.state.db.get(Upload, upload_id)
    if row is None or row.invite_id != invite.id:   # never another candidate's, not even its existence
        raise HTTPException(404, "no such upload")
    return render(request, "upload.html", invite=invite, upload=row, pending=row.state in ("queued", "running"))


@router.post("/assessment/hand-in")
async def hand_in(request: Request):
    await checked_form(request)   # the body first: see upload()
    invite = current_invite(request)
    if timebox.closed_reason(invite) is None:
        invite.finished_at = utcnow()
        reports.settle(request.state.db, invite)   # now, unless an upload still waits to be graded
        request.state.db.commit()
    return see_other("/assessment")


@router.get("/assessment/report")
def report(request: Request):
    from ..verdict.report_html import render_html

    invite = current_invite(request)
    if timebox.closed_reason(invite) is None:
        raise HTTPException(403, "your report is shown when the assessment closes for you")
    result, why = reports.build(invite)
    if result is None:
        raise HTTPException(404, f"no report: {why}")
    return HTMLResponse(render_html(result))
