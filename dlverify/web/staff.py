"""Staff pages: sign in, assessments, invitations, the dashboard, reports, re-grades, exports."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from ..batch.store import spreadsheet_cell
from ..packs.registry import EXERCISE_IDS, get_exercise
from . import queue, reports, similarity
from .models import Assessment, Invite, Staff, Upload, utcnow
from .pages import checked_form, current_staff, render, see_other
from .security import check_password, new_token, token_hash

router = APIRouter(prefix="/staff")
FIELD_CHARS = 200


@router.get("/sign-in")
def sign_in_page(request: Request):
    return render(request, "sign_in.html", error=None, email="")


@router.post("/sign-in")
async def sign_in(request: Request):
    form = await checked_form(request)
    email = str(form.get("email", "")).strip().lower()[:254]
    password = str(form.get("password", ""))
    address = request.client.host if request.client else "?"
    if not request.app.state.sign_in_limit.allow(f"ip:{address}", f"email:{email}"):
        return render(request, "sign_in.html", status_code=429, email=email,
                      error="too many sign-in attempts; wait a few minutes and try again")
    staff = request.state.db.scalars(select(Staff).where(Staff.email == email)).first()
    if staff is None or not check_password(staff.password_hash, password):
        return render(request, "sign_in.html", status_code=401, email=email, error="wrong email or password")
    request.session.clear()   # a new session on sign-in: nothing from before carries over
    request.session.update(staff=staff.id, staff_at=utcnow().timestamp())
    return see_other("/staff")


@router.post("/sign-out")
async def sign_out(request: Request):
    await checked_form(request)
    request.session.clear()
    return see_other("/staff/sign-in")


@router.get("")
def home(request: Request):
    staff = current_staff(request)
    db = request.state.db
    rows = db.execute(select(Assessment, func.count(Invite.id)).outerjoin(Invite)
                      .group_by(Assessment.id).order_by(Assessment.id.desc())).all()
    return render(request, "staff_home.html", staff=staff, rows=rows)


@router.get("/assessments/new")
def new_assessment_page(request: Request):
    current_staff(request)
    return render(request, "assessment_new.html", **_choices(request), error=None, form={})


def _choices(request: Request) -> dict:
    from ..verdict.catalogue import default_catalogue

    roles = default_catalogue().roles
    return {"roles": [(r.id, r.title) for r in roles.values()],
            "exercises": [(e, get_exercise(e).title) for e in EXERCISE_IDS]}


@router.post("/assessments/new")
async def new_assessment(request: Request):
    staff = current_staff(request)
    form = await checked_form(request)
    choices = _choices(request)
    name = str(form.get("name", "")).strip()[:FIELD_CHARS]
    role = str(form.get("role", ""))
    exercises = [e for e in form.getlist("exercises") if e in EXERCISE_IDS]
    error = None
    try:
        minutes = int(str(form.get("minutes", "")))
        due = datetime.strptime(str(form.get("due", "")), "%Y-%m-%d") + timedelta(hours=23, minutes=59)
    except ValueError:
        minutes, due = 0, None
        error = "the time box must be a whole number of minutes and the due date a date (YYYY-MM-DD)"
    if not error:
        if not name:
            error = "give the assessment a name"
        elif role not in dict(choices["roles"]):
            error = "choose a role profile"
        elif not exercises:
            error = "choose at least one exercise"
        elif not 10 <= minutes <= 7 * 24 * 60:
            error = "the time box must be between 10 minutes and 7 days"
        elif due < utcnow():
            error = "the due date has passed"
    if error:
        return render(request, "assessment_new.html", status_code=400, **choices, error=error, form=dict(form))
    db = request.state.db
    assessment = Assessment(name=name, role=role, exercises=exercises, time_box_minutes=minutes,
                            due_at=due, created_by=staff.id)
    db.add(assessment)
    db.commit()
    return see_other(f"/staff/assessments/{assessment.id}")


def _assessment(request: Request, assessment_id: int) -> Assessment:
    assessment = request.state.db.get(Assessment, assessment_id)
    if assessment is None:
        raise HTTPException(404, "no such assessment")
    return assessment


def _grid(assessment: Assessment) -> list[dict]:
    rows = []
    for invite in assessment.invites:
        report, why = reports.build(invite)
        rows.append({"invite": invite, "latest": reports.latest_uploads(invite), "report": report, "why": why})
    return rows


@router.get("/assessments/{assessment_id}")
def dashboard(request: Request, assessment_id: int):
    current_staff(request)
    assessment = _assessment(request, assessment_id)
    return render(request, "dashboard.html", assessment=assessment, rows=_grid(assessment),
                  new_link=request.session.pop("new_link", None))


@router.post("/assessments/{assessment_id}/invite")
async def invite(request: Request, assessment_id: int):
    current_staff(request)
    form = await checked_form(request)
    assessment = _assessment(request, assessment_id)
    name = str(form.get("name", "")).strip()[:FIELD_CHARS]
    email = str(form.get("email", "")).strip()[:254]
    if not name or "@" not in email:
        raise HTTPException(400, "an invitation needs the candidate's name and email address")
    token = new_token()
    settings = request.app.state.settings
    expires = min(assessment.due_at, utcnow() + settings.invite_valid)
    db = request.state.db
    db.add(Invite(assessment_id=assessment.id, name=name, email=email, token_hash=token_hash(token),
                  expires_at=expires, answers={}))
    db.commit()
    # Shown once, on the next page: only its hash is stored.
    request.session["new_link"] = {"name": name, "url": str(request.base_url).rstrip("/") + f"/take/{token}"}
    return see_other(f"/staff/assessments/{assessment.id}")


def _invite(request: Request, invite_id: int) -> Invite:
    invite = request.state.db.get(Invite, invite_id)
    if invite is None:
        raise HTTPException(404, "no such candidate")
    return invite


@router.get("/candidates/{invite_id}")
def candidate(request: Request, invite_id: int):
    current_staff(request)
    invite = _invite(request, invite_id)
    report, why = reports.build(invite)
    return render(request, "staff_candidate.html", invite=invite, report=report, why=why)


@router.get("/candidates/{invite_id}/report")
def candidate_report(request: Request, invite_id: int):
    from ..verdict.report_html import render_html

    current_staff(request)
    report, why = reports.build(_invite(request, invite_id))
    if report is None:
        raise HTTPException(404, f"no verdict yet: {why}")
    return HTMLResponse(render_html(report))


@router.post("/uploads/{upload_id}/regrade")
async def regrade(request: Request, upload_id: int):
    current_staff(request)
    await checked_form(request)
    upload = request.state.db.get(Upload, upload_id)
    if upload is None:
        raise HTTPException(404, "no such upload")
    queue.requeue(request.state.db, upload)
    return see_other(f"/staff/candidates/{upload.invite_id}")


@router.get("/assessments/{assessment_id}/export.csv")
def export_csv(request: Request, assessment_id: int):
    current_staff(request)
    assessment = _assessment(request, assessment_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email"] + [f"{e} status" for e in assessment.exercises] +
                    [f"{e} correctness" for e in assessment.exercises] + ["verdict", "match", "calibration"])
    for row in _grid(assessment):
        invite, report = row["invite"], row["report"]
        graded = reports.latest_graded(invite)
        statuses = [graded[e].status if e in graded else "" for e in assessment.exercises]
        scores = [_correctness(graded.get(e)) for e in assessment.exercises]
        verdict = [report["verdict"], report["match_percent"], report["calibration"]["percent"]] \
            if report else ["", "", ""]
        writer.writerow([spreadsheet_cell(invite.name), spreadsheet_cell(invite.email)] + statuses + scores + verdict)
    name = f"assessment-{assessment.id}.csv"
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _correctness(upload: Upload | None):
    if upload is None or not upload.result:
        return ""
    return upload.result.get("correctness_score", "")


@router.get("/assessments/{assessment_id}/similarity")
def similar(request: Request, assessment_id: int):
    current_staff(request)
    assessment = _assessment(request, assessment_id)
    threshold = request.app.state.settings.similarity_threshold
    pairs = similarity.pairs(assessment, threshold)
    return render(request, "similarity.html", assessment=assessment, pairs=pairs, threshold=threshold)
