"""The grading queue: every upload graded once, none lost when a worker dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

pytest.importorskip("sqlalchemy")

from dlverify.gradebook import record
from dlverify.gradebook.db import database_url, open_gradebook
from dlverify.gradebook.models import Invite, Staff, TimedAssessment, Upload, utcnow
from dlverify.web import queue, worker
from gradebook_helpers import make_result

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _db(tmp_path, uploads: int, url: str | None = None):
    """A gradebook (SQLite unless a URL is given) with one timed assessment, one invitation and
    `uploads` queued uploads."""
    url = url or f"sqlite:///{tmp_path / 'q.db'}"
    book = open_gradebook(database_url(url))
    with book.session(write=True) as db:
        cohort, _ = record.add_cohort(db, "a")
        person = record.candidate(db, cohort, "n <e@example.com>")
        db.add(Staff(id=1, email="s@example.com", password_hash="x"))
        db.flush()   # parents first: SQLite checks foreign keys here
        db.add(TimedAssessment(id=1, cohort_id=cohort.id, name="a", role="engineer", exercises=["backprop_mlp"],
                               time_box_minutes=60, due_at=utcnow() + timedelta(days=1), created_by=1))
        db.flush()
        db.add(Invite(id=1, assessment_id=1, candidate_id=person.id, name="n", email="e@example.com",
                      token_hash="t", expires_at=utcnow() + timedelta(days=1), answers={}))
        db.flush()
        for i in range(uploads):
            db.add(Upload(invite_id=1, exercise="backprop_mlp", filename=f"{i}.py", suffix=".py",
                          content=b"x = 1\n", sha256="0"))
        db.commit()
    return url, book


CLAIMER = """
import json, sys
sys.path.insert(0, {root!r})
from dlverify.gradebook.db import database_url, open_gradebook
from dlverify.web import queue
book = open_gradebook(database_url({url!r}))
got = []
while True:
    with book.session(write=True) as s:
        u = queue.claim(s, {name!r})
        if u is None:
            break
        got.append(u.id)
        queue.finish(s, u.id, {name!r}, state="done", status="passed", summary="", result=None)
print(json.dumps(got))
"""


def test_two_workers_at_once_grade_every_upload_exactly_once(tmp_path, db_url):
    url, book = _db(tmp_path, 40, db_url)
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER.format(root=ROOT, url=url, name=f"w{i}")],
                              stdout=subprocess.PIPE, text=True) for i in range(2)]
    claimed = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(claimed[0] + claimed[1]) == list(range(1, 41))
    assert not set(claimed[0]) & set(claimed[1])
    with book.session(write=True) as db:
        assert {u.state for u in db.query(Upload)} == {"done"}


HANGS = """
import sys, time
sys.path.insert(0, {root!r})
from dlverify.gradebook.db import open_gradebook
from dlverify.web import worker
def hang(exercise, suffix, content):
    print("grading", flush=True)
    time.sleep(600)
worker.run(open_gradebook({url!r}), hang, once=True)
"""


def test_a_worker_killed_mid_grading_loses_no_upload(tmp_path):
    url, book = _db(tmp_path, 1)
    dying = subprocess.Popen([sys.executable, "-c", HANGS.format(root=ROOT, url=url)], stdout=subprocess.PIPE, text=True)
    assert dying.stdout.readline().strip() == "grading"
    dying.send_signal(signal.SIGKILL)
    dying.wait(timeout=30)
    with book.session(write=True) as db:
        upload = db.get(Upload, 1)
        assert upload.state == "running" and upload.tries == 1
        assert queue.reap(db) == 0                     # its heartbeat is fresh: not yet judged dead
        assert queue.reap(db, now=utcnow() + queue.STALE_AFTER + timedelta(seconds=1)) == 1
        assert db.get(Upload, 1, populate_existing=True).state == "queued"
    graded = []
    assert worker.run(book, lambda e, s, c: graded.append(e) or make_result(e, ["passed"]),
                      once=True) == 1
    with book.session(write=True) as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status, upload.tries) == ("done", "passed", 2)


def test_an_upload_that_outlives_every_try_is_a_grader_error_not_a_loss(tmp_path):
    _, book = _db(tmp_path, 1)
    later = utcnow()
    for attempt in range(queue.MAX_TRIES):
        with book.session(write=True) as db:
            assert queue.claim(db, f"w{attempt}") is not None
            later += queue.STALE_AFTER + timedelta(seconds=1)
            queue.reap(db, now=later)
    with book.session(write=True) as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status) == ("error", "error")
        assert "stopped 3 times" in upload.summary


def test_a_late_result_from_a_worker_judged_dead_is_dropped(tmp_path):
    _, book = _db(tmp_path, 1)
    with book.session(write=True) as db:
        queue.claim(db, "slow")
        queue.reap(db, now=utcnow() + queue.STALE_AFTER + timedelta(seconds=1))
        assert queue.claim(db, "fresh") is not None
        assert not queue.finish(db, 1, "slow", state="done", status="failed", summary="", result=None)
        assert queue.finish(db, 1, "fresh", state="done", status="passed", summary="", result=None)
        assert db.get(Upload, 1, populate_existing=True).status == "passed"


def test_a_grader_fault_is_error_never_the_candidates_failure(tmp_path):
    _, book = _db(tmp_path, 1)

    def broken(exercise, suffix, content):
        raise RuntimeError("the runner vanished")

    assert worker.run(book, broken, once=True) == 1
    with book.session(write=True) as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status) == ("error", "error") and "runner vanished" in upload.summary


def test_the_heartbeat_keeps_a_long_grading_alive(tmp_path, monkeypatch):
    _, book = _db(tmp_path, 1)
    monkeypatch.setattr(queue, "HEARTBEAT_SECONDS", 0.05)
    beats = []

    def slow(exercise, suffix, content):
        with book.session(write=True) as db:
            beats.append(db.get(Upload, 1).heartbeat_at)
        time.sleep(0.3)
        with book.session(write=True) as db:
            beats.append(db.get(Upload, 1, populate_existing=True).heartbeat_at)
        return make_result(exercise, ["passed"])

    worker.run(book, slow, once=True)
    assert beats[1] > beats[0]


def test_with_ray_each_upload_is_graded_by_a_ray_task(tmp_path):
    """`dlverify serve --ray`: the worker sends the upload's bytes to the fleet, as grade-batch does."""
    ray = pytest.importorskip("ray")
    from dlverify.batch.model import Options

    _, book = _db(tmp_path, 0)
    reference = open(os.path.join(ROOT, "graders/backprop_mlp/reference.py"), "rb").read()
    with book.session(write=True) as db:
        db.add(Upload(invite_id=1, exercise="backprop_mlp", filename="r.py", suffix=".py", content=reference, sha256="0"))
        db.commit()
    try:
        grader = worker.ray_grader("local", Options(throughput=False))
        assert worker.run(book, grader, once=True) == 1
    finally:
        ray.shutdown()
    with book.session(write=True) as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status) == ("done", "passed")
        assert upload.result["cases"] and "_runner" not in upload.result


def test_a_result_the_gradebook_refuses_is_a_grader_error_and_a_good_one_is_an_attempt(tmp_path):
    """The worker records each grading as an attempt; a result that does not read as one is the
    grader's fault (`error`), never the candidate's, and the queue goes on."""
    _, book = _db(tmp_path, 2)
    answers = iter([{"status": "passed", "summary": "no cases, no exercise"}, make_result("backprop_mlp", ["passed"])])
    assert worker.run(book, lambda e, s, c: next(answers), once=True) == 2
    with book.session() as db:
        bad, good = db.get(Upload, 1), db.get(Upload, 2)
        assert (bad.state, bad.status, bad.attempt_id) == ("error", "error", None)
        assert "could not be recorded" in bad.summary
        assert (good.state, good.status) == ("done", "passed")
        assert (good.attempt.source, good.attempt.candidate.name) == ("web", "n <e@example.com>")
        assert good.result["exercise"] == "backprop_mlp"


def _trickled(kind: str, csrf: str, assessment_id: int) -> tuple[str, dict, bytes]:
    """(path, headers, body) of a candidate's form (an upload, an answer) or a staff one (an invitation)."""
    if kind == "invite":
        body = f"csrf={csrf}&name=Grace&email=grace%40example.com".encode()
        return f"/staff/assessments/{assessment_id}/invite", {"content-type": "application/x-www-form-urlencoded"}, body
    if kind == "answer":
        body = f"csrf={csrf}&degree=phd&major=physics&coursework=optics".encode()
        return "/assessment/questions/1", {"content-type": "application/x-www-form-urlencoded"}, body
    b = "trickle"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"solution.py\"\r\n"
            f"Content-Type: text/x-python\r\n\r\nx = 1\n\r\n--{b}--\r\n").encode()
    return "/assessment/exercises/backprop_mlp/upload", {"content-type": f"multipart/form-data; boundary={b}"}, body


@pytest.mark.parametrize("kind", ["upload", "answer", "invite"])
def test_a_form_still_arriving_never_holds_the_write_lock_a_worker_needs(tmp_path, monkeypatch, kind):
    """A POST on a slow link (or one that trickles on purpose) must not keep SQLite's write lock
    while its body arrives: the workers would fail "database is locked" (and the event loop,
    blocked by the next POST waiting for that lock, would stop the body arriving). A candidate's
    forms, and staff's too (a slow link is no attack, but the workers stall all the same)."""
    import asyncio

    import httpx

    from dlverify.gradebook import db as gradebook_db
    from web_helpers import candidate, csrf_of, invite, make_app, new_assessment, signed_in

    monkeypatch.setattr(gradebook_db, "BUSY_TIMEOUT_S", 1)   # the 30 s wait, shortened
    app, book = make_app(tmp_path)
    staff = signed_in(app)
    assessment_id = new_assessment(staff)
    ada = candidate(app, invite(staff, assessment_id))
    sender = staff if kind == "invite" else ada
    page = f"/staff/assessments/{assessment_id}" if kind == "invite" else "/assessment/questions/1"
    path, headers, body = _trickled(kind, csrf_of(sender.get(page).text), assessment_id)
    headers["content-length"] = str(len(body))

    def worker_writes() -> str | None:
        try:
            with book.session(write=True) as s:
                queue.reap(s)                      # what a worker does between gradings
        except Exception as exc:
            return str(exc)
        return None

    async def scenario():
        started, go_on = asyncio.Event(), asyncio.Event()

        async def trickle():
            yield body[:20]
            started.set()
            await go_on.wait()
            yield body[20:]

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     cookies=dict(sender.cookies)) as client:
            sending = asyncio.create_task(client.post(path, content=trickle(), headers=headers))
            await started.wait()
            await asyncio.sleep(0.2)               # the handler has run up to the body it waits for
            failure = await asyncio.to_thread(worker_writes)
            go_on.set()
            return failure, (await sending).status_code

    failure, status = asyncio.run(scenario())
    assert failure is None, failure
    assert status == 303


def test_a_submission_that_prints_nul_or_a_lone_surrogate_is_graded_and_the_worker_goes_on(tmp_path, db_url):
    """`raise ValueError("\\x00")` or `"\\ud800"` puts that character in the result's messages and
    summary: no text column takes a lone surrogate (UTF-8 has none) and PostgreSQL takes no NUL.
    The grading is recorded with U+FFFD in their place; the worker must not die on it."""
    _, book = _db(tmp_path, 2, db_url)
    odd = "raised: ValueError: bad\x00value\ud800"
    results = iter([make_result("backprop_mlp", ["passed", "failed"], summary="1/2; " + odd, messages={1: odd}),
                    make_result("backprop_mlp", ["passed"])])
    assert worker.run(book, lambda e, s, c: next(results), once=True) == 2
    with book.session() as db:
        first, second = db.get(Upload, 1), db.get(Upload, 2)
        assert (first.state, first.status, second.state) == ("done", "failed", "done")
        assert first.summary == "1/2; raised: ValueError: bad\ufffdvalue\ufffd"
        assert first.result["cases"][1]["message"] == "raised: ValueError: bad\ufffdvalue\ufffd"
        assert first.attempt.summary == first.summary


def test_a_database_that_stops_answering_is_waited_for_not_the_end_of_the_worker(tmp_path, monkeypatch, capsys):
    """`serve` never restarts a worker: one that exited on a database hiccup would leave the queue
    unserved. It says so in one line and tries again; the upload is graded once it answers."""
    from sqlalchemy.exc import OperationalError

    _, book = _db(tmp_path, 1)
    real_reap, calls = queue.reap, []

    def flaky_reap(session, now=None):
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real_reap(session, now)

    monkeypatch.setattr(queue, "reap", flaky_reap)
    monkeypatch.setattr(worker, "MAX_BACKOFF", 0.01)
    assert worker.run(book, lambda e, s, c: make_result(e, ["passed"]), once=True, idle=0.0) == 1
    err = capsys.readouterr().err
    assert err.count("the gradebook did not answer (database is locked); trying again") == 2
    with book.session() as db:
        assert db.get(Upload, 1).state == "done"


def test_a_missed_heartbeat_is_survived(tmp_path, monkeypatch, capsys):
    from sqlalchemy.exc import OperationalError

    _, book = _db(tmp_path, 1)
    monkeypatch.setattr(queue, "HEARTBEAT_SECONDS", 0.05)
    real_beat, beats = queue.beat, []

    def flaky_beat(session, upload_id, name):
        beats.append(1)
        if len(beats) == 1:
            raise OperationalError("UPDATE", {}, Exception("server closed the connection"))
        real_beat(session, upload_id, name)

    monkeypatch.setattr(queue, "beat", flaky_beat)

    def slow(exercise, suffix, content):
        time.sleep(0.4)
        return make_result(exercise, ["passed"])

    worker.run(book, slow, once=True)
    assert len(beats) >= 3 and "a heartbeat did not reach the gradebook" in capsys.readouterr().err
    with book.session() as db:
        assert db.get(Upload, 1).status == "passed"
