"""Staff pages: sign in, assessments, invitations, the dashboard, reports, re-grades, exports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from ..gradebook import record
from ..gradebook.models import Invite, Staff, TimedAssessment, Upload, utcnow
from ..packs.registry import EXERCISE_IDS, get_exercise
from . import queue, reports, similarity
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
    rows = db.execute(select(TimedAssessment, func.count(Invite.id)).outerjoin(Invite)
                      .group_by(TimedAssessment.id).order_by(TimedAssessment.id.desc())).all()
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
    form = await checked_form(request)   # read before the first query takes the write lock (candidate.upload says why)
    staff = current_staff(request)
    choices = _choices(request)
    name = str(form.get("name", "")).strip()[:FIELD_CHARS]
    role = str(form.get("role", ""))
    exercises = [e for e in form.getlist("exercises") if e in EXERCISE_IDS]
    error = None
    try:
        minutes = int(str(form.get("minutes", "")))
        due = (datetime.strptime(str(form.get("due", "")), "%Y-%m-%d").replace(tzinfo=timezone.utc)
               + timedelta(hours=23, minutes=59))
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
    db = request.state.db
    if not error:
        # Its candidates, attempts and verdicts go into a cohort of its own, named as it is.
        cohort, made = record.add_cohort(db, name, title=f"{role} assessment in the web app")
        if not made:
            error = f"the gradebook has a cohort named {name!r} already: choose another name"
    if error:
        db.rollback()
        return render(request, "assessment_new.html", status_code=400, **choices, error=error, form=dict(form))
    assessment = TimedAssessment(cohort_id=cohort.id, name=name, role=role, exercises=exercises,
                                 time_box_minutes=minutes, due_at=due, created_by=staff.id)
    db.add(assessment)
    db.commit()
    return see_other(f"/staff/assessments/{assessment.id}")


def _assessment(request: Request, assessment_id: int, *, lock: bool = False) -> TimedAssessment:
    assessment = request.state.db.get(TimedAssessment, assessment_id, with_for_update=lock or None)
    if assessment is None:
        raise HTTPException(404, "no such assessment")
    return assessment


def _grid(assessment: TimedAssessment) -> list[dict]:
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
    form = await checked_form(request)   # read before the first query takes the write lock (candidate.upload says why)
    current_staff(request)
    name = str(form.get("name", "")).strip()[:FIELD_CHARS]
    email = str(form.get("email", "")).strip()[:254]
    if not name or "@" not in email:
        raise HTTPException(400, "an invitation needs the candidate's name and email address")
    # Invitations to one assessment one at a time (a row lock on PostgreSQL; SQLite's write lock
    # already does it): a double-clicked Invite then finds the first one's row, instead of both
    # inserting the same candidate and the second failing.
    assessment = _assessment(request, assessment_id, lock=True)
    token = new_token()
    settings = request.app.state.settings
    expires = min(assessment.due_at, utcnow() + settings.invite_valid)
    db = request.state.db
    again = db.scalars(select(Invite).where(Invite.assessment_id == assessment.id,
                                            func.lower(Invite.email) == email.lower())).first()
    if again is not None:
        # The same person again (a lost or expired link): a new link, the old one stops working;
        # their answers, uploads and time box stay theirs.
        again.token_hash, again.expires_at = token_hash(token), expires
    else:
        # The email whole (it tells two people apart); the name shortened to fit Candidate.name.
        person = record.candidate(db, assessment.cohort, f"{name[:record.MAX_NAME - len(email) - 3]} <{email}>")
        if db.scalars(select(Invite.id).where(Invite.candidate_id == person.id)).first() is not None:
            raise HTTPException(400, f"another invitation is already the gradebook's candidate {person.name!r}: "
                                     "check the name and email")
        db.add(Invite(assessment_id=assessment.id, candidate_id=person.id, name=name, email=email,
                      token_hash=token_hash(token), expires_at=expires, answers={}))
    db.commit()
    # Shown once, on the next page: only its hash is stored.
    request.session["new_link"] = {"name": again.name if again else name, "replaced": again is not None,
                                   "url": str(request.base_url).rstrip("/") + f"/take/{token}"}
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
    await checked_form(request)          # read before the first query takes the write lock (candidate.upload says why)
    current_staff(request)
    upload = request.state.db.get(Upload, upload_id)
    if upload is None:
        raise HTTPException(404, "no such upload")
    queue.requeue(request.state.db, upload)
    return see_other(f"/staff/candidates/{upload.invite_id}")


EXPORTS = {"csv": "csv", "xml": "junit"}   # the download's suffix -> the gradebook's export format


@router.get("/assessments/{assessment_id}/export.{suffix}")
def export(request: Request, assessment_id: int, suffix: str):
    """The assessment's cohort as the gradebook exports it (`dlverify gradebook export`): a CSV
    row per candidate, or JUnit XML; each candidate's latest graded attempt per exercise."""
    from ..gradebook.exports.cohort import MEDIA, Export

    current_staff(request)
    assessment = _assessment(request, assessment_id)
    if suffix not in EXPORTS:
        raise HTTPException(404, "exports come as .csv or .xml (JUnit)")
    fmt = EXPORTS[suffix]
    text = _exported(request, assessment, Export(fmt, with_status=True, exercises=tuple(assessment.exercises)))
    return Response(text, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="assessment-{assessment.id}.{suffix}"'})


@router.get("/candidates/{invite_id}/results.json")
def gradescope(request: Request, invite_id: int):
    """One candidate's Gradescope results.json (a test per hidden case), as the CLI writes it."""
    from ..gradebook.exports.cohort import MEDIA, Export

    current_staff(request)
    invite = _invite(request, invite_id)
    text = _exported(request, invite.assessment, Export("gradescope", candidate=invite.candidate.name))
    return Response(text, media_type=MEDIA["gradescope"],
                    headers={"Content-Disposition": f'attachment; filename="results-{invite.id}.json"'})


def _exported(request: Request, assessment: TimedAssessment, spec) -> str:
    from ..gradebook.errors import GradebookError
    from ..gradebook.exports.cohort import export_text

    try:
        return export_text(request.state.db, assessment.cohort, spec)
    except GradebookError as exc:   # nothing graded yet: say so on a page, not as an empty file
        raise HTTPException(404, str(exc)) from None


@router.get("/assessments/{assessment_id}/similarity")
def similar(request: Request, assessment_id: int):
    current_staff(request)
    assessment = _assessment(request, assessment_id)
    threshold = request.app.state.settings.similarity_threshold
    pairs = similarity.pairs(assessment, threshold)
    return render(request, "similarity.html", assessment=assessment, pairs=pairs, threshold=threshold)
