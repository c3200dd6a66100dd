"""The web app on the gradebook: one cohort per assessment, a candidate per invitation, verdicts
recorded when an assessment closes, and a database from the web app's first release carried over."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest

pytest.importorskip("fastapi")

import sqlalchemy as sa

from dlverify.gradebook.db import database_url, open_gradebook
from dlverify.gradebook.models import Attempt, Candidate, Cohort, Invite, Staff, TimedAssessment, Upload, Verdict, utcnow
from dlverify.web import reports, worker
from gradebook_helpers import make_result
from test_web_app import answer_everything, upload
from web_helpers import candidate, csrf_of, invite, make_app, new_assessment, signed_in


def _grade_all(book, status="passed"):
    return worker.run(book, lambda exercise, suffix, content: make_result(exercise, [status]), once=True)


def test_a_verdict_is_recorded_when_the_time_box_ends_and_again_after_a_regrade(tmp_path):
    app, book = make_app(tmp_path)
    staff = signed_in(app)
    ada = candidate(app, invite(staff, new_assessment(staff, minutes=10)))
    answer_everything(ada)
    upload(ada, "backprop_mlp", b"def f():\n    return 1\n")
    _grade_all(book, "failed")
    with book.session(write=True) as db:
        assert reports.settle_closed(db) == 0            # her time box is still running
        db.get(Invite, 1).first_visit_at = utcnow() - timedelta(minutes=11)
        db.commit()
    with book.session(write=True) as db:
        assert reports.settle_closed(db) == 1            # what a worker does between uploads
        assert reports.settle_closed(db) == 0            # once
        (first,) = db.query(Verdict).all()
    page = staff.get("/staff/candidates/1")
    assert "Verdict recorded in the gradebook" in page.text
    staff.post("/staff/uploads/1/regrade", data={"csrf": csrf_of(page.text)})
    with book.session() as db:
        assert db.get(Invite, 1).verdict_at is None and db.query(Verdict).count() == 1
    _grade_all(book, "passed")                           # the re-grade's result lands: recorded again
    with book.session() as db:
        verdicts = db.query(Verdict).order_by(Verdict.id).all()
        assert len(verdicts) == 2 and verdicts[0].id == first.id
        assert [a.status for a in db.query(Attempt).order_by(Attempt.id)] == ["failed", "passed"]


def test_a_closed_assessment_waits_for_its_last_grading_before_the_verdict(tmp_path):
    app, book = make_app(tmp_path)
    staff = signed_in(app)
    ada = candidate(app, invite(staff, new_assessment(staff)))
    answer_everything(ada)
    upload(ada, "backprop_mlp", b"x = 1\n")
    ada.post("/assessment/hand-in", data={"csrf": csrf_of(ada.get("/assessment").text)})
    with book.session() as db:
        assert db.query(Verdict).count() == 0            # still queued: a verdict now would miss it
    # nothing graded yet, so no claim is checked: said in words (this page once failed on it)
    assert "nothing checked yet" in staff.get("/staff/assessments/1").text
    assert "calibration not measured" in staff.get("/staff/candidates/1").text
    _grade_all(book, "passed")
    with book.session() as db:
        (verdict,) = db.query(Verdict).all()
        evidence = json.dumps(verdict.report)
        assert "backprop_mlp" in evidence


def test_two_workers_settling_the_same_closed_assessment_record_one_verdict(tmp_path, db_url):
    """Every worker looks for verdicts that fell due (settle_closed), and `serve --workers 2`
    starts them together: the one that looks second, while the first has not yet committed,
    must find the verdict taken, not record it again (PostgreSQL does not serialise them)."""
    import threading
    import time

    app, book = make_app(tmp_path, db_url)
    staff = signed_in(app)
    ada = candidate(app, invite(staff, new_assessment(staff, minutes=10)))
    answer_everything(ada)
    with book.session(write=True) as db:
        db.get(Invite, 1).first_visit_at = utcnow() - timedelta(minutes=11)   # her time box ended
        db.commit()
    first = book.session(write=True)
    assert reports.settle(first, first.get(Invite, 1))   # recorded, not yet committed
    settled = []

    def second_worker():
        with book.session(write=True) as db:
            settled.append(reports.settle_closed(db))

    other = threading.Thread(target=second_worker)
    other.start()
    time.sleep(0.5)              # it has read the invitation (SQLite: it waits for the lock instead)
    first.commit()
    first.close()
    other.join(timeout=60)
    assert settled == [0]
    with book.session() as db:
        assert db.query(Verdict).count() == 1 and db.get(Invite, 1).verdict_at is not None


def test_inviting_the_same_email_again_gives_a_new_link_to_the_same_candidate(tmp_path):
    app, book = make_app(tmp_path)
    staff = signed_in(app)
    aid = new_assessment(staff)
    old = invite(staff, aid, "Ada", "ada@example.com")
    ada = candidate(app, old)
    upload(ada, "backprop_mlp", b"x = 1\n")
    page = staff.get(f"/staff/assessments/{aid}")
    again_page = staff.post(f"/staff/assessments/{aid}/invite",
                            data={"csrf": csrf_of(page.text), "name": "Ada L.", "email": "ADA@example.com"})
    assert "old link no longer works" in again_page.text
    new = re.search(r'<code id="new-link">([^<]+)</code>', again_page.text).group(1)
    assert new != old
    from fastapi.testclient import TestClient

    assert TestClient(app).get("/take/" + old.rsplit("/", 1)[1]).status_code == 404
    again = candidate(app, new)
    assert "solution.py" in again.get("/assessment/uploads/1").text   # her upload is still hers
    with book.session() as db:
        assert db.query(Invite).count() == 1 and db.query(Candidate).count() == 1


def test_long_names_keep_two_people_apart_and_a_clash_is_one_line(tmp_path):
    """A candidate is `Name <email>`, at most Candidate.name's 300 characters: two people with
    200-character names and emails that differ late are still two candidates (the email is kept
    whole), and a name that clashes with another invitation's is refused in words, never a 500."""
    app, book = make_app(tmp_path)
    staff = signed_in(app)
    aid = new_assessment(staff)
    long_name, local = "N" * 200, "x" * 120
    invite(staff, aid, long_name, local + "1@example.com")
    invite(staff, aid, long_name, local + "2@example.com")
    with book.session() as db:
        names = sorted(i.candidate.name for i in db.query(Invite))
        assert len(set(names)) == 2 and all(len(n) <= 300 for n in names)
        assert names[0].endswith(f"<{local}1@example.com>") and names[1].endswith(f"<{local}2@example.com>")
    invite(staff, aid, "Ada <b@example.com>", "c@example.com")
    page = staff.get(f"/staff/assessments/{aid}")
    clash = staff.post(f"/staff/assessments/{aid}/invite", data={"csrf": csrf_of(page.text), "name": "Ada",
                                                                 "email": "b@example.com> <c@example.com"})
    assert clash.status_code == 400 and "already" in html.unescape(clash.text)
    with book.session() as db:
        assert db.query(Invite).count() == 3


def test_an_assessment_named_like_an_existing_cohort_is_refused_in_one_line(tmp_path, cli):
    app, book = make_app(tmp_path)
    db = str(tmp_path / "web.db")
    assert cli("gradebook", "add-cohort", "Autumn hiring", "--db", db).code == 0
    staff = signed_in(app)
    page = staff.get("/staff/assessments/new")
    due = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    refused = staff.post("/staff/assessments/new", data={"csrf": csrf_of(page.text), "name": "Autumn hiring",
                                                          "role": "engineer", "exercises": ["backprop_mlp"],
                                                          "minutes": "60", "due": due})
    assert refused.status_code == 400 and "a cohort named 'Autumn hiring' already" in html.unescape(refused.text)
    with book.session() as s:
        assert s.query(TimedAssessment).count() == 0 and s.query(Cohort).count() == 1


# --- a database the web app's first release made ---------------------------------------------

def _first_release_tables(metadata: sa.MetaData) -> None:
    """The tables as the first release made them itself (create_all, outside the migrations)."""
    sa.Table("web_staff", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("email", sa.String(254), unique=True), sa.Column("password_hash", sa.String(200)),
             sa.Column("created_at", sa.DateTime))
    sa.Table("web_assessment", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(200)),
             sa.Column("role", sa.String(40)), sa.Column("exercises", sa.JSON), sa.Column("time_box_minutes", sa.Integer),
             sa.Column("due_at", sa.DateTime), sa.Column("created_by", sa.ForeignKey("web_staff.id")),
             sa.Column("created_at", sa.DateTime))
    sa.Table("web_invite", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("assessment_id", sa.ForeignKey("web_assessment.id"), index=True),
             sa.Column("name", sa.String(200)), sa.Column("email", sa.String(254)),
             sa.Column("token_hash", sa.String(64), unique=True), sa.Column("expires_at", sa.DateTime),
             sa.Column("first_visit_at", sa.DateTime, nullable=True), sa.Column("answers", sa.JSON),
             sa.Column("answered", sa.Boolean), sa.Column("finished_at", sa.DateTime, nullable=True),
             sa.Column("created_at", sa.DateTime))
    sa.Table("web_upload", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("invite_id", sa.ForeignKey("web_invite.id"), index=True), sa.Column("exercise", sa.String(64)),
             sa.Column("filename", sa.String(255)), sa.Column("suffix", sa.String(8)),
             sa.Column("content", sa.LargeBinary), sa.Column("sha256", sa.String(64)),
             sa.Column("uploaded_at", sa.DateTime), sa.Column("state", sa.String(16), index=True),
             sa.Column("tries", sa.Integer), sa.Column("worker", sa.String(120), nullable=True),
             sa.Column("heartbeat_at", sa.DateTime, nullable=True), sa.Column("status", sa.String(32), nullable=True),
             sa.Column("summary", sa.Text, nullable=True), sa.Column("result", sa.JSON, nullable=True))


def test_a_database_from_the_first_release_is_carried_over_whole(db_url):
    url = database_url(db_url)
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    _first_release_tables(metadata)
    metadata.create_all(engine)
    now = utcnow().replace(tzinfo=None)
    graded = make_result("backprop_mlp", ["passed", "failed"])
    t = metadata.tables
    with engine.begin() as c:
        c.execute(t["web_staff"].insert(), [{"id": 1, "email": "s@example.com", "password_hash": "h", "created_at": now}])
        c.execute(t["web_assessment"].insert(), [
            {"id": 1, "name": "Spring", "role": "engineer", "exercises": ["backprop_mlp", "attention"],
             "time_box_minutes": 90, "due_at": now + timedelta(days=2), "created_by": 1, "created_at": now}])
        c.execute(t["web_invite"].insert(), [
            {"id": i, "assessment_id": 1, "name": n, "email": e, "token_hash": f"h{i}", "answers": {"education": {}},
             "expires_at": now + timedelta(days=1), "answered": False, "created_at": now}
            for i, n, e in ((1, "Ada", "ada@example.com"), (2, "Ada", "ada@example.com"), (3, "Bob", "b@example.com"))])
        c.execute(t["web_upload"].insert(), [
            {"id": 1, "invite_id": 1, "exercise": "backprop_mlp", "filename": "a.py", "suffix": ".py",
             "content": b"print(1)\n", "sha256": "0", "uploaded_at": now, "state": "done", "tries": 1,
             "status": "failed", "summary": "1/2", "result": graded},
            {"id": 2, "invite_id": 3, "exercise": "attention", "filename": "b.ipynb", "suffix": ".ipynb",
             "content": b"{}", "sha256": "1", "uploaded_at": now, "state": "queued", "tries": 0, "status": None,
             "summary": None, "result": None}])
    engine.dispose()

    book = open_gradebook(url)
    try:
        with book.session(write=True) as db:
            (staff,) = db.query(Staff).all()
            (spring,) = db.query(TimedAssessment).all()
            assert (staff.email, spring.cohort.name, spring.exercises) == \
                ("s@example.com", "Spring", ["backprop_mlp", "attention"])
            names = [i.candidate.name for i in db.query(Invite).order_by(Invite.id)]
            assert names == ["Ada <ada@example.com>", "Ada <ada@example.com> #2", "Bob <b@example.com>"]
            done, queued = db.query(Upload).order_by(Upload.id).all()
            assert (done.content, done.status, done.attempt.source, done.result) == (b"print(1)\n", "failed", "web", graded)
            assert (queued.state, queued.attempt_id, queued.content) == ("queued", None, b"{}")
            # ids carried over, and new rows get fresh ones (PostgreSQL's sequences moved past them)
            db.add(Staff(email="new@example.com", password_hash="h"))
            db.commit()
            assert db.query(Staff).order_by(Staff.id.desc()).first().id == 2
    finally:
        book.close()


def test_first_release_names_at_their_widths_and_a_nul_are_carried_over_within_the_gradebooks(db_url):
    """The first release kept names of 200 and emails of 254 characters; `Name <email>` and a
    renamed cohort must fit Candidate.name (300) and Cohort.name (200): PostgreSQL refused the
    whole migration, and SQLite kept names the gradebook then refused to record under."""
    url = database_url(db_url)
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    _first_release_tables(metadata)
    metadata.create_all(engine)
    now = utcnow().replace(tzinfo=None)
    name, email = "N" * 200, "e" * 242 + "@example.com"
    t = metadata.tables
    with engine.begin() as c:
        c.execute(t["web_staff"].insert(), [{"id": 1, "email": "s@example.com", "password_hash": "h", "created_at": now}])
        c.execute(t["web_assessment"].insert(), [
            {"id": i, "name": name, "role": "engineer", "exercises": ["backprop_mlp"], "time_box_minutes": 90,
             "due_at": now + timedelta(days=2), "created_by": 1, "created_at": now} for i in (1, 2)])
        c.execute(t["web_invite"].insert(), [
            {"id": i, "assessment_id": 1, "name": name, "email": email, "token_hash": f"h{i}",
             "answers": {"goals": {"location": "Oslo\x00"}},   # PostgreSQL's JSON took a NUL, its JSONB does not
             "expires_at": now + timedelta(days=1), "answered": False, "created_at": now} for i in (1, 2)])
    engine.dispose()

    book = open_gradebook(url)
    try:
        with book.session(write=True) as db:
            cohorts = [a.cohort.name for a in db.query(TimedAssessment).order_by(TimedAssessment.id)]
            people = [i.candidate.name for i in db.query(Invite).order_by(Invite.id)]
            assert cohorts[0] == name and len(set(cohorts)) == 2 and all(len(c) <= 200 for c in cohorts)
            assert len(set(people)) == 2 and all(len(p) <= 300 and f"<{email}>" in p for p in people)
            assert db.get(Invite, 1).answers == {"goals": {"location": "Oslo\ufffd"}}
            # and the gradebook records under them (a graded upload, a verdict)
            from dlverify.gradebook import record

            cohort = db.get(Invite, 2).assessment.cohort
            record.record_attempt(db, cohort, people[1], make_result("backprop_mlp", ["passed"]), source="web")
            db.commit()
    finally:
        book.close()


def test_a_candidate_sees_their_report_after_the_due_date_but_a_link_never_opened_has_expired(tmp_path):
    """The report shows once the assessment closes, and the due date closes it: the link that
    started an assessment still opens it afterwards (for REPORT_DAYS), one never used does not."""
    from fastapi.testclient import TestClient

    app, book = make_app(tmp_path)
    staff = signed_in(app)
    aid = new_assessment(staff)
    started = invite(staff, aid, "Ada", "ada@example.com")
    unused = invite(staff, aid, "Bob", "bob@example.com")
    ada = candidate(app, started)
    answer_everything(ada)
    with book.session(write=True) as db:
        past = utcnow() - timedelta(minutes=1)
        db.get(TimedAssessment, aid).due_at = past
        for row in db.query(Invite):
            row.expires_at = past
        db.commit()
    assert ada.get("/assessment/report").status_code == 200              # her session, after the due date
    again = TestClient(app, follow_redirects=True)
    assert again.get("/take/" + started.rsplit("/", 1)[1]).status_code == 200   # her link, a new browser
    assert "closed" in again.get("/assessment").text
    assert TestClient(app).get("/take/" + unused.rsplit("/", 1)[1]).status_code == 404
    with book.session(write=True) as db:
        db.get(TimedAssessment, aid).due_at = utcnow() - reports_window() - timedelta(minutes=1)
        db.commit()
    assert ada.get("/assessment/report").status_code == 403               # long after: the link is gone


def reports_window():
    from dlverify.web.timebox import REPORT_DAYS

    return REPORT_DAYS


def test_the_csv_export_has_a_column_for_every_exercise_of_the_assessment(tmp_path):
    app, book = make_app(tmp_path)
    staff = signed_in(app)
    aid = new_assessment(staff, exercises=("backprop_mlp", "attention"))
    ada = candidate(app, invite(staff, aid))
    upload(ada, "backprop_mlp", b"x = 1\n")
    _grade_all(book, "passed")
    header = staff.get(f"/staff/assessments/{aid}/export.csv").text.splitlines()[0]
    assert header == ("candidate,backprop_mlp,backprop_mlp_status,attention,attention_status,"
                      "verdict,match_percent")


def test_two_invitations_of_one_email_at_the_same_moment_make_one_candidate(tmp_path, db_url):
    """A double-clicked Invite: the second waits for the first and gives the same person a new
    link (on PostgreSQL both used to insert the candidate's invitation and the second was a 500)."""
    import threading

    from sqlalchemy import select as sa_select

    app, book = make_app(tmp_path, db_url)
    staff = signed_in(app)
    aid = new_assessment(staff)
    token = csrf_of(staff.get(f"/staff/assessments/{aid}").text)
    answers = []

    def click():
        answers.append(staff.post(f"/staff/assessments/{aid}/invite",
                                  data={"csrf": token, "name": "Ada", "email": "ada@example.com"}).status_code)

    # Hold the assessment's row while two clicks arrive; on SQLite the write lock holds them instead.
    with book.session(write=True) as held:
        held.execute(sa_select(TimedAssessment).where(TimedAssessment.id == aid).with_for_update())
        clicks = [threading.Thread(target=click) for _ in range(2)]
        for c in clicks:
            c.start()
        clicks[0].join(timeout=0.5)
        held.commit()
    for c in clicks:
        c.join(timeout=60)
    assert answers == [200, 200]
    with book.session() as db:
        assert db.query(Invite).count() == 1 and db.query(Candidate).count() == 1
