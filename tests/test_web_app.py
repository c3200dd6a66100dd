"""The web app end to end in-process: staff, candidates, uploads graded by the real worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

pytest.importorskip("fastapi")

from dlverify.batch.model import Options
from dlverify.verdict.answers import QUESTIONS
from dlverify.web import worker
from dlverify.gradebook.models import Invite, TimedAssessment, Upload, Verdict, utcnow

from web_helpers import ROOT, STAFF, candidate, csrf_of, invite, make_app, new_assessment, signed_in

ANSWERS = yaml.safe_load((ROOT / "dlverify/verdict/samples/demo_answers.yaml").read_text())
REFERENCE = (ROOT / "graders/backprop_mlp/reference.py").read_bytes()
WRONG = sorted((ROOT / "graders/backprop_mlp/solutions/wrong").glob("*.py"))[0].read_bytes()


def _form_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def answer_everything(client) -> None:
    for number, q in enumerate(QUESTIONS, start=1):
        page = client.get(f"/assessment/questions/{number}")
        data = {f.name: _form_value(ANSWERS[q.section][f.name]) for f in q.fields}
        done = client.post(f"/assessment/questions/{number}", data={"csrf": csrf_of(page.text), **data})
        assert done.status_code == 200, done.text


def upload(client, exercise: str, content: bytes, name="solution.py", content_type="text/x-python"):
    page = client.get("/assessment/questions/1")   # a form on every state of the assessment
    return client.post(f"/assessment/exercises/{exercise}/upload", data={"csrf": csrf_of(page.text)},
                       files={"file": (name, content, content_type)})


def grade_queue(book) -> int:
    return worker.run(book, worker.local_grader(Options(throughput=False)), once=True)


@pytest.fixture
def web(tmp_path):
    return make_app(tmp_path)


def test_sign_in_needs_the_right_password_and_is_rate_limited(web):
    app, _ = web
    from fastapi.testclient import TestClient

    client = TestClient(app)
    assert client.get("/staff", follow_redirects=False).status_code == 303   # not signed in
    token = csrf_of(client.get("/staff/sign-in").text)
    wrong = client.post("/staff/sign-in", data={"email": STAFF[0], "password": "nope", "csrf": token})
    assert wrong.status_code == 401 and "wrong email or password" in wrong.text
    for _ in range(4):   # five tries in five minutes, then a wait
        client.post("/staff/sign-in", data={"email": STAFF[0], "password": "nope", "csrf": token})
    limited = client.post("/staff/sign-in", data={"email": STAFF[0], "password": "nope", "csrf": token})
    assert limited.status_code == 429
    # even the right password waits out the window: a guesser learns nothing from the answer
    right = client.post("/staff/sign-in", data={"email": STAFF[0], "password": STAFF[1], "csrf": token})
    assert right.status_code == 429


def test_staff_forms_posted_signed_out_go_to_sign_in_and_change_nothing(web):
    app, book = web
    from fastapi.testclient import TestClient

    assessment_id = new_assessment(signed_in(app))
    stranger = TestClient(app)
    token = csrf_of(stranger.get("/staff/sign-in").text)   # a session, with its token, but nobody signed in
    forms = {"/staff/assessments/new": {"name": "x", "role": "engineer", "minutes": "5", "due": "2030-01-01"},
             f"/staff/assessments/{assessment_id}/invite": {"name": "Eve", "email": "eve@example.com"},
             "/staff/uploads/1/regrade": {}}
    for path, data in forms.items():
        page = stranger.post(path, data={"csrf": token, **data}, follow_redirects=False)
        assert (page.status_code, page.headers.get("location")) == (303, "/staff/sign-in"), path
    with book.session() as db:
        assert db.scalar(select(func.count()).select_from(Invite)) == 0
        assert db.scalar(select(func.count()).select_from(TimedAssessment)) == 1


def test_a_form_without_the_sessions_csrf_token_is_refused(web):
    app, _ = web
    client = signed_in(app)
    page = client.post("/staff/assessments/new", data={"name": "x", "role": "engineer", "exercises": ["backprop_mlp"],
                                                       "minutes": "60", "due": "2099-01-01"})
    assert page.status_code == 403
    page = client.post("/staff/assessments/new", data={"csrf": "forged" * 8, "name": "x"})
    assert page.status_code == 403


def test_bad_assessment_input_gets_one_clear_line(web):
    app, _ = web
    client = signed_in(app)
    token = csrf_of(client.get("/staff/assessments/new").text)
    page = client.post("/staff/assessments/new", data={"csrf": token, "name": "x", "role": "engineer",
                                                       "minutes": "60", "due": "2099-01-01"})
    assert page.status_code == 400 and "choose at least one exercise" in page.text
    page = client.post("/staff/assessments/new", data={"csrf": token, "name": "x", "role": "engineer",
                                                       "exercises": ["backprop_mlp"], "minutes": "ten",
                                                       "due": "2099-01-01"})
    assert page.status_code == 400 and "whole number of minutes" in page.text


def test_a_candidate_answers_uploads_and_staff_sees_the_verdict(tmp_path, db_url, cli):
    """End to end on each backend (SQLite, PostgreSQL): the web app runs on the gradebook, so
    what a candidate does there is in the cohort the CLI lists and exports."""
    import json
    import xml.etree.ElementTree as ET

    app, book = make_app(tmp_path, db_url)
    staff = signed_in(app)
    aid = new_assessment(staff)
    link = invite(staff, aid)
    ada = candidate(app, link)
    assert "Time left" in ada.get("/assessment").text

    # the questionnaire: a bad answer is refused with the reason, and nothing is lost
    page = ada.get("/assessment/questions/2")
    bad = ada.post("/assessment/questions/2", data={"csrf": csrf_of(page.text), "feedforward_backprop": "eleven",
                                                    "cnn": "6", "rnn": "5", "transformers": "8", "projects": "x"})
    assert bad.status_code == 400 and "expected an integer from 0 to 10" in bad.text
    answer_everything(ada)
    assert "8 of 8 questions answered" in ada.get("/assessment").text

    wrong = upload(ada, "backprop_mlp", WRONG)
    assert wrong.status_code == 200 and "queued" in wrong.text
    right = upload(ada, "backprop_mlp", REFERENCE)
    assert grade_queue(book) == 2
    with book.session() as db:
        uploads = db.query(Upload).order_by(Upload.id).all()
        assert [(u.state, u.status) for u in uploads] == [("done", "failed"), ("done", "passed")]
        # each grading is an attempt of Ada in the assessment's own cohort
        assert [(u.attempt.source, u.attempt.status, u.attempt.candidate.name, u.attempt.candidate.cohort.name)
                for u in uploads] == [("web", "failed", "Ada <ada@example.com>", "Autumn hiring"),
                                      ("web", "passed", "Ada <ada@example.com>", "Autumn hiring")]
    page = ada.get(right.url.path)
    assert "passed" in page.text and "Hidden cases" in page.text

    # the report waits for the assessment to close for her; closing records her verdict
    assert ada.get("/assessment/report").status_code == 403
    with book.session() as db:
        assert db.query(Verdict).count() == 0
    ada.post("/assessment/hand-in", data={"csrf": csrf_of(ada.get("/assessment").text)})
    report = ada.get("/assessment/report")
    assert report.status_code == 200 and "<svg" in report.text
    with book.session() as db:
        (verdict,) = db.query(Verdict).all()
        assert verdict.role == "engineer" and verdict.answers_id is not None

    dash = staff.get(f"/staff/assessments/{aid}").text
    assert "Ada" in dash and "passed" in dash and "%" in dash
    csv_text = staff.get(f"/staff/assessments/{aid}/export.csv").text
    header, row = csv_text.splitlines()[:2]
    assert header == "candidate,backprop_mlp,backprop_mlp_status,verdict,match_percent"
    assert row.startswith(f"Ada <ada@example.com>,100.0,passed,{verdict.verdict},")
    suites = ET.fromstring(staff.get(f"/staff/assessments/{aid}/export.xml").content)
    assert [s.get("name") for s in suites] == ["Ada <ada@example.com>/backprop_mlp"]
    assert suites[0].get("failures") == "0" and int(suites[0].get("tests")) > 0
    scored = json.loads(staff.get("/staff/candidates/1/results.json").text)
    assert scored["tests"] and all(t["status"] == "passed" for t in scored["tests"])

    # the CLI sees the same cohort, candidate, attempts and verdict
    listed = json.loads(cli("gradebook", "candidates", "Autumn hiring", "--json", "--db", db_url).out)
    assert [(c["name"], c["attempts"], c["verdict"]["verdict"]) for c in listed["candidates"]] == \
        [("Ada <ada@example.com>", 2, verdict.verdict)]

    late = upload(ada, "backprop_mlp", REFERENCE)
    assert late.status_code == 403 and "uploads are closed" in late.text


def test_one_candidate_never_sees_anothers_upload(web):
    app, book = web
    staff = signed_in(app)
    aid = new_assessment(staff)
    ada = candidate(app, invite(staff, aid, "Ada", "ada@example.com"))
    bob = candidate(app, invite(staff, aid, "Bob", "bob@example.com"))
    mine = upload(ada, "backprop_mlp", REFERENCE)
    assert bob.get(mine.url.path).status_code == 404
    assert bob.get("/staff").status_code == 200 and "Staff sign-in" in bob.get("/staff").text


def test_uploads_are_checked_before_they_are_queued(web, tmp_path):
    app, book = web
    staff = signed_in(app)
    ada = candidate(app, invite(staff, new_assessment(staff)))
    assert upload(ada, "backprop_mlp", b"x" * (2 << 20)).status_code == 413
    assert upload(ada, "backprop_mlp", b"print(1)\n", name="solution.exe").status_code == 400
    sent_as_image = upload(ada, "backprop_mlp", b"print(1)\n", content_type="image/png")
    assert sent_as_image.status_code == 400 and "image/png" in sent_as_image.text
    assert upload(ada, "backprop_mlp", b"\xff\xfe\x00", name="s.py").status_code == 400
    assert upload(ada, "attention", REFERENCE).status_code == 404   # not in her assessment
    with book.session(write=True) as db:
        assert db.query(Upload).count() == 0


def test_an_expired_time_box_refuses_uploads_with_the_reason(web):
    app, book = web
    staff = signed_in(app)
    ada = candidate(app, invite(staff, new_assessment(staff, minutes=10)))
    with book.session(write=True) as db:
        inv = db.query(Invite).one()
        inv.first_visit_at = utcnow() - timedelta(minutes=11)
        db.commit()
    late = upload(ada, "backprop_mlp", REFERENCE)
    assert late.status_code == 403 and "10-minute time box has ended" in late.text


def test_an_invitation_link_is_unguessable_and_the_token_is_not_stored(web):
    app, book = web
    staff = signed_in(app)
    link = invite(staff, new_assessment(staff))
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 40
    with book.session(write=True) as db:
        assert token not in repr([(i.token_hash, i.email) for i in db.query(Invite)])
    from fastapi.testclient import TestClient

    assert TestClient(app).get("/take/" + token[:-1] + ("A" if token[-1] != "A" else "B")).status_code == 404
    # the link shows once: reloading the dashboard does not show it again
    assert token not in staff.get(link.split("/take/")[0] + "/staff").text


def test_candidate_text_is_escaped_everywhere_staff_sees_it(web):
    app, book = web
    staff = signed_in(app)
    aid = new_assessment(staff)
    ada = candidate(app, invite(staff, aid, "<script>alert(1)</script>", "x@example.com"))
    upload(ada, "backprop_mlp", REFERENCE, name="<img src=x onerror=alert(1)>.py")
    grade_queue(book)
    for page in (staff.get(f"/staff/assessments/{aid}").text, staff.get("/staff/candidates/1").text):
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page


def test_regrade_puts_the_same_bytes_back_in_the_queue(web):
    app, book = web
    staff = signed_in(app)
    ada = candidate(app, invite(staff, new_assessment(staff)))
    upload(ada, "backprop_mlp", REFERENCE)
    grade_queue(book)
    page = staff.get("/staff/candidates/1")
    staff.post("/staff/uploads/1/regrade", data={"csrf": csrf_of(page.text)})
    with book.session(write=True) as db:
        assert db.get(Upload, 1).state == "queued"
    assert grade_queue(book) == 1
    with book.session(write=True) as db:
        assert (db.get(Upload, 1).state, db.get(Upload, 1).status) == ("done", "passed")


def test_similar_submissions_are_shown_as_pairs_with_the_matching_regions(web):
    app, book = web
    staff = signed_in(app)
    aid = new_assessment(staff)
    renamed = REFERENCE.replace(b"grads", b"gradients_dict").replace(b"loss", b"objective")
    upload(candidate(app, invite(staff, aid, "Ada", "a@example.com")), "backprop_mlp", REFERENCE)
    upload(candidate(app, invite(staff, aid, "Bob", "b@example.com")), "backprop_mlp", renamed)
    upload(candidate(app, invite(staff, aid, "Cy", "c@example.com")), "backprop_mlp",
           (ROOT / "graders/backprop_mlp/solutions/correct").joinpath(
               sorted(p.name for p in (ROOT / "graders/backprop_mlp/solutions/correct").glob("*.py"))[0]).read_bytes())
    page = staff.get(f"/staff/assessments/{aid}/similarity").text
    assert "Ada and Bob" in page and "<mark>" in page


def test_a_nul_typed_into_any_form_is_stored_as_text_on_every_backend(tmp_path, db_url):
    """PostgreSQL keeps no NUL in text or JSONB: a name, an answer or a file name carrying one was
    a 500 there (the answer a candidate's, the file name a candidate's)."""
    app, book = make_app(tmp_path, db_url)
    staff = signed_in(app)
    aid = new_assessment(staff, name="Spring\x00 hiring")
    ada = candidate(app, invite(staff, aid, "Ada\x00", "ada@example.com"))
    page = ada.get("/assessment/questions/1")
    saved = ada.post("/assessment/questions/1", data={"csrf": csrf_of(page.text), "degree": "phd",
                                                      "major": "physics\x00", "coursework": "optics\x00, ml"})
    assert saved.status_code == 200
    assert upload(ada, "backprop_mlp", REFERENCE, name="sol\x00ution.py").status_code == 200
    with book.session() as db:
        invited = db.query(Invite).one()
        education = invited.answers["education"]
        stored = [invited.name, invited.candidate.name, invited.assessment.cohort.name, invited.assessment.name,
                  db.query(Upload).one().filename, education["major"], *education["coursework"]]
        assert not [text for text in stored if "\x00" in text]
        assert education["major"].startswith("physics") and invited.name.startswith("Ada")
