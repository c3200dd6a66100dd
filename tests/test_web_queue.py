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

from dlverify.web import queue, worker
from dlverify.web.db import open_engine, session_factory
from dlverify.web.models import Assessment, Invite, Staff, Upload, utcnow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _db(tmp_path, uploads: int):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    sessions = session_factory(open_engine(url))
    with sessions() as db:
        db.add(Staff(id=1, email="s@example.com", password_hash="x"))
        db.flush()   # parents first: SQLite checks foreign keys here
        db.add(Assessment(id=1, name="a", role="engineer", exercises=["backprop_mlp"], time_box_minutes=60,
                          due_at=utcnow() + timedelta(days=1), created_by=1))
        db.flush()
        db.add(Invite(id=1, assessment_id=1, name="n", email="e@example.com", token_hash="t",
                      expires_at=utcnow() + timedelta(days=1), answers={}))
        db.flush()
        for i in range(uploads):
            db.add(Upload(invite_id=1, exercise="backprop_mlp", filename=f"{i}.py", suffix=".py",
                          content=b"x = 1\n", sha256="0"))
        db.commit()
    return url, sessions


CLAIMER = """
import json, sys
sys.path.insert(0, {root!r})
from dlverify.web import queue
from dlverify.web.db import open_engine, session_factory
sessions = session_factory(open_engine({url!r}))
got = []
while True:
    with sessions() as s:
        u = queue.claim(s, {name!r})
        if u is None:
            break
        got.append(u.id)
        queue.finish(s, u.id, {name!r}, state="done", status="passed", summary="", result=None)
print(json.dumps(got))
"""


def test_two_workers_at_once_grade_every_upload_exactly_once(tmp_path):
    url, sessions = _db(tmp_path, 40)
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER.format(root=ROOT, url=url, name=f"w{i}")],
                              stdout=subprocess.PIPE, text=True) for i in range(2)]
    claimed = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(claimed[0] + claimed[1]) == list(range(1, 41))
    assert not set(claimed[0]) & set(claimed[1])
    with sessions() as db:
        assert {u.state for u in db.query(Upload)} == {"done"}


HANGS = """
import sys, time
sys.path.insert(0, {root!r})
from dlverify.web import worker
from dlverify.web.db import open_engine, session_factory
def hang(exercise, suffix, content):
    print("grading", flush=True)
    time.sleep(600)
worker.run(session_factory(open_engine({url!r})), hang, once=True)
"""


def test_a_worker_killed_mid_grading_loses_no_upload(tmp_path):
    url, sessions = _db(tmp_path, 1)
    dying = subprocess.Popen([sys.executable, "-c", HANGS.format(root=ROOT, url=url)], stdout=subprocess.PIPE, text=True)
    assert dying.stdout.readline().strip() == "grading"
    dying.send_signal(signal.SIGKILL)
    dying.wait(timeout=30)
    with sessions() as db:
        upload = db.get(Upload, 1)
        assert upload.state == "running" and upload.tries == 1
        assert queue.reap(db) == 0                     # its heartbeat is fresh: not yet judged dead
        assert queue.reap(db, now=utcnow() + queue.STALE_AFTER + timedelta(seconds=1)) == 1
        assert db.get(Upload, 1, populate_existing=True).state == "queued"
    graded = []
    assert worker.run(sessions, lambda e, s, c: graded.append(e) or {"status": "passed", "summary": "ok"},
                      once=True) == 1
    with sessions() as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status, upload.tries) == ("done", "passed", 2)


def test_an_upload_that_outlives_every_try_is_a_grader_error_not_a_loss(tmp_path):
    _, sessions = _db(tmp_path, 1)
    later = utcnow()
    for attempt in range(queue.MAX_TRIES):
        with sessions() as db:
            assert queue.claim(db, f"w{attempt}") is not None
            later += queue.STALE_AFTER + timedelta(seconds=1)
            queue.reap(db, now=later)
    with sessions() as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status) == ("error", "error")
        assert "stopped 3 times" in upload.summary


def test_a_late_result_from_a_worker_judged_dead_is_dropped(tmp_path):
    _, sessions = _db(tmp_path, 1)
    with sessions() as db:
        queue.claim(db, "slow")
        queue.reap(db, now=utcnow() + queue.STALE_AFTER + timedelta(seconds=1))
        assert queue.claim(db, "fresh") is not None
        assert not queue.finish(db, 1, "slow", state="done", status="failed", summary="", result=None)
        assert queue.finish(db, 1, "fresh", state="done", status="passed", summary="", result=None)
        assert db.get(Upload, 1, populate_existing=True).status == "passed"


def test_a_grader_fault_is_error_never_the_candidates_failure(tmp_path):
    _, sessions = _db(tmp_path, 1)

    def broken(exercise, suffix, content):
        raise RuntimeError("the runner vanished")

    assert worker.run(sessions, broken, once=True) == 1
    with sessions() as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status) == ("error", "error") and "runner vanished" in upload.summary


def test_the_heartbeat_keeps_a_long_grading_alive(tmp_path, monkeypatch):
    _, sessions = _db(tmp_path, 1)
    monkeypatch.setattr(queue, "HEARTBEAT_SECONDS", 0.05)
    beats = []

    def slow(exercise, suffix, content):
        with sessions() as db:
            beats.append(db.get(Upload, 1).heartbeat_at)
        time.sleep(0.3)
        with sessions() as db:
            beats.append(db.get(Upload, 1, populate_existing=True).heartbeat_at)
        return {"status": "passed", "summary": ""}

    worker.run(sessions, slow, once=True)
    assert beats[1] > beats[0]


def test_with_ray_each_upload_is_graded_by_a_ray_task(tmp_path):
    """`dlverify serve --ray`: the worker sends the upload's bytes to the fleet, as grade-batch does."""
    ray = pytest.importorskip("ray")
    from dlverify.batch.model import Options

    _, sessions = _db(tmp_path, 0)
    reference = open(os.path.join(ROOT, "graders/backprop_mlp/reference.py"), "rb").read()
    with sessions() as db:
        db.add(Upload(invite_id=1, exercise="backprop_mlp", filename="r.py", suffix=".py", content=reference, sha256="0"))
        db.commit()
    try:
        grader = worker.ray_grader("local", Options(throughput=False))
        assert worker.run(sessions, grader, once=True) == 1
    finally:
        ray.shutdown()
    with sessions() as db:
        upload = db.get(Upload, 1)
        assert (upload.state, upload.status) == ("done", "passed")
        assert upload.result["cases"] and "_runner" not in upload.result
