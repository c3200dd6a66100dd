"""The gradebook's database: where it is, migrations, recording, the attempt that counts,
imports, two writers at once, and one clear line for every way it can be unusable.

Every test that touches a database runs on SQLite and on a real PostgreSQL server
(pg_cluster.py starts one per session; it skips with the reason where none can start).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from dlverify.batch import Entry, Outcome, row_from_result, write_result, write_summary
from dlverify.batch.model import Skipped
from dlverify.gradebook import queries
from dlverify.gradebook.db import GradebookError, database_url, default_path, open_gradebook
from dlverify.gradebook.importer import import_folder
from dlverify.gradebook.models import Assessment, Attempt, Base, Candidate, Cohort
from dlverify.gradebook.record import add_cohort, find_cohort, record_attempt
from gradebook_helpers import backend_url, make_result

TESTS = Path(__file__).resolve().parent


# --- where the gradebook is -----------------------------------------------------------------

def test_the_gradebook_is_named_by_flag_then_environment_then_the_user_s_data_folder(tmp_path):
    env = {"HOME": str(tmp_path / "home")}
    assert database_url(None, env).database == str(tmp_path / "home" / ".local/share/dlverify/gradebook.db")
    assert default_path({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg/dlverify/gradebook.db"
    env["DLVERIFY_DB"] = "sqlite:////srv/env.db"
    assert database_url(None, env).database == "/srv/env.db"
    assert database_url("given.db", env, cwd=tmp_path).database == str(tmp_path / "given.db")
    # PostgreSQL means psycopg 3, whichever way it is spelt; a password is never shown.
    url = database_url("postgres://ta:secret@db.example/course", env)
    assert url.drivername == "postgresql+psycopg" and url.database == "course"
    assert "secret" not in url.render_as_string(hide_password=True)


@pytest.mark.parametrize("given, words", [
    ("mysql://u@h/db", "mysql is not supported"),
    ("sqlite://", "must be a file"),
    ("  ", "is empty"),
    ("postgresql://u:hunter2@db:port/x", "not a database URL"),
])
def test_a_url_that_cannot_be_a_gradebook_is_one_clear_error(given, words):
    with pytest.raises(GradebookError, match=words) as caught:
        database_url(given, {})
    assert "hunter2" not in str(caught.value)


# --- migrations --------------------------------------------------------------------------------

def test_migrations_build_exactly_the_tables_the_models_describe(book):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from dlverify.gradebook.migrate import current, head

    assert current(book.engine) == head()
    with book.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_a_gradebook_from_a_newer_dlverify_is_refused_by_name(book, db_url):
    with book.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    with pytest.raises(GradebookError, match="newer dlverify"):
        open_gradebook(database_url(db_url))


# --- recording ------------------------------------------------------------------------------------

def _count(book, model) -> int:
    with book.reading() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_same_result_recorded_twice_is_one_attempt_and_a_regrade_is_another(book):
    first = make_result(graded_at="2026-01-05T10:00:00+00:00")
    with book.writing() as session:
        cohort, made = add_cohort(session, "fall")
        assert made
        assert record_attempt(session, cohort, "alice", first, source="grade").created
    # The same document again, as an import of the batch folder would read it: keys in another order.
    again = json.loads(json.dumps(first, sort_keys=True))
    with book.writing() as session:
        assert not add_cohort(session, "fall")[1]
        assert not record_attempt(session, find_cohort(session, "fall"), "alice", again, source="import").created
    assert _count(book, Attempt) == 1
    regrade = make_result(graded_at="2026-01-06T10:00:00+00:00")
    with book.writing() as session:
        done = record_attempt(session, find_cohort(session, "fall"), "alice", regrade, source="grade")
        assert done.created
        assert done.attempt.graded_at.isoformat() == "2026-01-06T10:00:00+00:00"
        assert (done.attempt.cases_passed, done.attempt.cases_total, done.attempt.status) == (2, 3, "failed")
    assert (_count(book, Attempt), _count(book, Candidate), _count(book, Assessment)) == (2, 1, 1)


def test_a_result_that_is_not_a_grader_result_is_refused_by_name(book):
    with book.writing() as session:
        cohort, _ = add_cohort(session, "fall")
        with pytest.raises(GradebookError, match="correctness_score"):
            record_attempt(session, cohort, "x", {**make_result(), "correctness_score": "high"}, source="grade")


def test_nul_and_lone_surrogates_in_a_result_answers_or_report_are_stored_as_replacement_characters(book):
    """A submission's own text (an exception message, its output) reaches the result: a lone
    surrogate encodes to no UTF-8 (no backend stores it) and PostgreSQL keeps no NUL. Recorded
    with U+FFFD in their place, and the same result twice is still one attempt."""
    from dlverify.gradebook.record import record_answers, record_verdict

    odd = "bad\x00value\ud800"
    result = make_result(summary="0/1; " + odd, messages={0: odd}, cases=["failed"])
    with book.writing() as session:
        cohort, _ = add_cohort(session, "fall")
        attempt = record_attempt(session, cohort, "alice", result, source="grade").attempt
        assert not record_attempt(session, cohort, "alice", result, source="import").created
        answers = record_answers(session, cohort, "alice", {"goals": {"location": odd}}, "d" * 64)
        verdict = record_verdict(session, cohort, "alice", {"role": "engineer", "verdict": "no_match",
                                                             "match_percent": 0.0, "note": odd}, answers)
    with book.reading() as session:
        stored = session.get(Attempt, attempt.id)
        assert stored.summary == "0/1; bad\ufffdvalue\ufffd"
        assert stored.result["cases"][0]["message"] == "bad\ufffdvalue\ufffd"
        assert session.get(type(answers), answers.id).answers["goals"]["location"] == "bad\ufffdvalue\ufffd"
        assert session.get(type(verdict), verdict.id).report["note"] == "bad\ufffdvalue\ufffd"


def _record(book, cohort: str, name: str, result: dict) -> int:
    with book.writing() as session:
        return record_attempt(session, find_cohort(session, cohort), name, result, source="grade").attempt.id


def test_latest_and_best_are_queries_and_a_grader_error_never_hides_a_grade(book):
    with book.writing() as session:
        add_cohort(session, "fall")
    t = "2026-01-0{}T10:00:00+00:00"
    half = _record(book, "fall", "bob", make_result(cases=["passed", "failed"], graded_at=t.format(1)))
    passed = _record(book, "fall", "bob", make_result(cases=["passed", "passed"], graded_at=t.format(2)))
    worse = _record(book, "fall", "bob", make_result(cases=["failed", "failed"], graded_at=t.format(3)))
    _record(book, "fall", "bob", make_result(cases=[], status="error", graded_at=t.format(4)))
    lone_error = _record(book, "fall", "carol", make_result(cases=[], status="error"))
    with book.reading() as session:
        cohort = find_cohort(session, "fall")
        latest = {a.candidate.name: a.id for a in queries.counted_attempts(session, cohort, "latest")}
        best = {a.candidate.name: a.id for a in queries.counted_attempts(session, cohort, "best")}
        story = [a.id for a in queries.history(session, queries.find_candidate(session, cohort, "bob"))]
    assert latest == {"bob": worse, "carol": lone_error}
    assert best == {"bob": passed, "carol": lone_error}
    assert story[:3] == [half, passed, worse] and len(story) == 4


def test_best_prefers_correctness_then_throughput(book):
    with book.writing() as session:
        add_cohort(session, "hire")
    slow = _record(book, "hire", "dan", make_result(cases=["passed"] * 2, throughput=0.2, sha="1" * 64))
    fast = _record(book, "hire", "dan", make_result(cases=["passed"] * 2, throughput=0.9, sha="2" * 64))
    _record(book, "hire", "dan", make_result(cases=["passed", "failed"], throughput=None, sha="3" * 64))
    with book.reading() as session:
        best = queries.counted_attempts(session, find_cohort(session, "hire"), "best")
    assert [a.id for a in best] == [fast] and slow != fast


# --- importing a batch folder -------------------------------------------------------------------

def _batch_folder(tmp_path: Path, results: dict[str, dict]) -> Path:
    """A grade-batch output folder written by the batch's own writers."""
    out = tmp_path / "out"
    outcome = Outcome()
    for name, data in results.items():
        entry = Entry(name, tmp_path / "hand-in" / f"{name}.py")
        outcome.rows.append(row_from_result(entry, data, write_result(out, entry, data), "now"))
    outcome.skipped = [Skipped(tmp_path / "hand-in" / "erin", "holds no .py or .ipynb file")]
    write_summary(out, "backprop_mlp", outcome)
    return out


def test_importing_a_batch_folder_names_candidates_as_the_batch_did_and_twice_adds_nothing(book, tmp_path):
    odd = "zoë b"   # its result file's name has a digest in it: only summary.json has her name
    out = _batch_folder(tmp_path, {"alice": make_result(sha="1" * 64), odd: make_result(sha="2" * 64)})
    with book.writing() as session:
        add_cohort(session, "fall")
    first = import_folder(book, "fall", out)
    assert (first.recorded, first.already, first.listed, first.passed_over) == (2, 0, 1, [])
    again = import_folder(book, "fall", out)
    assert (again.recorded, again.already) == (0, 2)
    with book.reading() as session:
        names = [p.name for p in queries.candidates(session, find_cohort(session, "fall"))]
    assert names == ["alice", "erin", odd]
    (out / "results" / "alice.json").write_text("{torn")
    torn = import_folder(book, "fall", out)
    assert torn.recorded == 0 and len(torn.passed_over) == 1 and "alice.json" in torn.passed_over[0][0]


def test_importing_into_an_unknown_cohort_reads_nothing(book, tmp_path):
    out = _batch_folder(tmp_path, {"alice": make_result()})
    with pytest.raises(GradebookError, match="unknown cohort 'nope'.*add-cohort nope"):
        import_folder(book, "nope", out)
    assert _count(book, Candidate) == 0


# --- two writers at once ------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_recording_at_once_both_land_every_row(backend, tmp_path):
    url = backend_url(backend, tmp_path)   # not opened yet: both writers race to migrate it too
    count = 30
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
    writers = [subprocess.Popen([sys.executable, str(TESTS / "gradebook_writer.py"), url, tag, str(count),
                                 str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for tag in ("a", "b")]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{tag}").exists() for tag in "ab"):
        assert time.monotonic() < deadline and all(w.poll() is None for w in writers), \
            [w.communicate() for w in writers if w.poll() is not None]
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], outputs
    book = open_gradebook(database_url(url))
    try:
        assert _count(book, Attempt) == 2 * count
        assert (_count(book, Candidate), _count(book, Assessment), _count(book, Cohort)) == (4, 1, 1)
    finally:
        book.close()


# --- a gradebook that cannot be used: one line --------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv, words", [
    (["gradebook", "show", "nope", "alice", "--db", "{db}"], "unknown cohort 'nope'"),
    (["gradebook", "export", "fall", "--format", "gradescope", "--db", "{db}"], "--candidate"),
    (["gradebook", "show", "fall", "zed", "--db", "{db}"], "no candidate 'zed'"),
    (["gradebook", "cohorts", "--db", "postgresql://ta:pw@127.0.0.1:{port}/course"], "Connection refused"),
    (["gradebook", "cohorts", "--db", "{tmp}/notes.txt"], "not a database"),
    (["gradebook", "import", "fall", "{tmp}/missing", "--db", "{db}"], "no such folder"),
    (["grade", "backprop_mlp", "{tmp}/notes.txt", "--record", "nope", "--db", "{db}"], "unknown cohort"),
    (["grade", "backprop_mlp", "{tmp}/notes.txt", "--candidate", "x"], "needs --record"),
])
def test_every_way_a_gradebook_is_unusable_is_one_line_and_exit_2(cli, tmp_path, argv, words):
    db = str(tmp_path / "gb.db")
    (tmp_path / "notes.txt").write_text("not a database, and not a submission either\n" * 50)
    assert cli("gradebook", "add-cohort", "fall", "--db", db).code == 0
    run = cli(*[a.format(db=db, tmp=tmp_path, port=_closed_port()) for a in argv])
    assert run.code == 2, (run.out, run.err)
    assert words in run.err and run.err.count("\n") == 1 and "Traceback" not in run.err
    assert "pw@" not in run.err


def test_first_line_of_a_database_error_is_the_driver_s_own():
    from sqlalchemy.exc import OperationalError

    from dlverify.gradebook.db import first_line

    wrapped = OperationalError("SELECT 1", {}, RuntimeError("  database is locked\nCONTEXT: a second line"))
    assert first_line(wrapped) == "database is locked"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(RuntimeError("one\ntwo")) == "one"
