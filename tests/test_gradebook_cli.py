"""A course's whole round, from the command line, on SQLite and on PostgreSQL: grade a hand-in
into the gradebook, re-grade a late submission, read the history, export to CSV, JUnit and
Gradescope, import a batch folder, record a verdict."""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from dlverify import paths
from test_gradebook_exports import SCHEMA, _check_junit

SAMPLE_ANSWERS = paths.Path(__file__).resolve().parent.parent / "dlverify" / "verdict" / "samples" / "demo_answers.yaml"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A graded hand-in (alice passes, bob's file does not parse, carol handed in nothing) and bob's
    late submission: graded once for the module; each backend's test records the batch from it."""
    from dlverify.cli import Env, main

    root = tmp_path_factory.mktemp("course")
    reference = (paths.graders_dir() / "backprop_mlp" / "reference.py").read_text()
    (root / "hand-in" / "alice").mkdir(parents=True)
    (root / "hand-in" / "alice" / "solution.py").write_text(reference)
    (root / "hand-in" / "bob.py").write_text("def mlp_loss_and_grads(params, x, y)\n    return 0\n")
    (root / "hand-in" / "carol").mkdir()
    (root / "late").mkdir()
    (root / "late" / "bob.py").write_text(reference)
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLVERIFY_DB", str(root / "never.db"))
        code = main(["grade-batch", "backprop_mlp", "hand-in", "--out", "out", "--no-throughput"],
                    Env(stdin=io.StringIO(), stdout=out, stderr=err, cwd=root))
    assert code == 1, (out.getvalue(), err.getvalue())
    assert not (root / "never.db").exists()   # nothing is recorded unless asked
    return root


def _json(run):
    assert run.code == 0, (run.out, run.err)
    return json.loads(run.out)


def test_a_course_grades_regrades_sees_history_and_exports(cli, tmp_path, course, db_url):
    db = ["--db", db_url]
    shutil.copytree(course / "hand-in", tmp_path / "hand-in")
    shutil.copytree(course / "out", tmp_path / "out")
    shutil.copytree(course / "late", tmp_path / "late")
    assert cli("gradebook", "add-cohort", "fall25", "--title", "Deep learning, fall", *db).code == 0

    # The hand-in into the gradebook: every candidate a row, the one without a submission too.
    batch = cli("grade-batch", "backprop_mlp", "hand-in", "--out", "out", "--no-throughput", "--record", "fall25", *db)
    assert batch.code == 1 and "recorded into cohort fall25: 2 new attempt(s)" in batch.out, batch.err
    listed = _json(cli("gradebook", "candidates", "fall25", "--json", *db))
    counted = {p["name"]: {ex: a["status"] for ex, a in p["counted"].items()} for p in listed["candidates"]}
    assert counted == {"alice": {"backprop_mlp": "passed"}, "bob": {"backprop_mlp": "failed"}, "carol": {}}

    # Bob's late submission, graded into the same cohort under his name.
    late = cli("grade", "backprop_mlp", str(tmp_path / "late" / "bob.py"), "--no-throughput", "--record", "fall25", *db)
    assert late.code == 0 and "of bob in cohort fall25" in late.out, late.err
    shown = _json(cli("gradebook", "show", "fall25", "bob", "--json", *db))
    history = [(a["status"], a["source"]) for a in shown["attempts"]]
    assert history == [("failed", "grade-batch"), ("passed", "grade")]
    assert shown["latest"] == shown["best"] == {"backprop_mlp": shown["attempts"][1]["id"]}
    table = cli("gradebook", "show", "fall25", "bob", *db)
    assert table.code == 0 and "latest best" in table.out and "grade-batch" in table.out

    # Exports, as a TA's spreadsheet, a CI system and Gradescope read them.
    sheet = cli("gradebook", "export", "fall25", "--status", *db)
    rows = {r["candidate"]: r for r in csv.DictReader(io.StringIO(sheet.out))}
    assert {n: (r["backprop_mlp"], r["backprop_mlp_status"]) for n, r in rows.items()} == {
        "alice": ("100.0", "passed"), "bob": ("100.0", "passed"), "carol": ("", "")}
    junit = cli("gradebook", "export", "fall25", "--format", "junit", "--out", "fall25.xml", *db)
    assert junit.code == 0, junit.err
    root = ET.parse(tmp_path / "fall25.xml").getroot()
    _check_junit(root)
    assert [s.get("name") for s in root] == ["alice/backprop_mlp", "bob/backprop_mlp"]
    cases = shown["attempts"][1]["cases_total"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(2 * cases), "0", "0")
    gradescope = _json(cli("gradebook", "export", "fall25", "--format", "gradescope", "--candidate", "bob", *db))
    jsonschema.Draft202012Validator(SCHEMA).validate(gradescope)
    assert gradescope["score"] == len(gradescope["tests"]) == shown["attempts"][1]["cases_total"]
    first_try = _json(cli("gradebook", "export", "fall25", "--format", "gradescope", "--candidate", "bob",
                          "--attempt", "best", *db))
    assert first_try["score"] == gradescope["score"]

    # The batch folder imported again adds nothing; the verdict is recorded beside the attempts.
    again = _json(cli("gradebook", "import", "fall25", "out", "--json", *db))
    assert (again["recorded"], again["already"], again["listed_without_attempt"]) == (0, 2, 1)
    (tmp_path / "late.json").write_text(json.dumps(_attempt_result(db_url, "bob")))
    verdict = cli("verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "late.json", "--record", "fall25",
                  "--candidate", "bob", *db)
    assert verdict.code == 0 and "recorded as verdict" in verdict.out, verdict.err
    shown = _json(cli("gradebook", "show", "fall25", "bob", "--json", *db))
    assert len(shown["attempts"]) == 2   # the result the verdict weighed was already there
    [given] = shown["verdicts"]
    assert given["calibration_percent"] is not None and given["verdict"]
    sheet = cli("gradebook", "export", "fall25", *db)
    bob = next(r for r in csv.DictReader(io.StringIO(sheet.out)) if r["candidate"] == "bob")
    assert (bob["verdict"], float(bob["match_percent"])) == (given["verdict"], given["match_percent"])
    cohorts = _json(cli("gradebook", "cohorts", "--json", *db))
    assert [(c["name"], c["candidates"], c["attempts"], c["exercises"]) for c in cohorts] == \
        [("fall25", 3, 3, ["backprop_mlp"])]


def _attempt_result(db_url, name):
    """The full result JSON the gradebook keeps for the candidate's latest attempt."""
    from dlverify.gradebook import queries
    from dlverify.gradebook.db import database_url, open_gradebook

    book = open_gradebook(database_url(db_url))
    try:
        with book.reading() as session:
            cohort = queries.cohort_named(session, "fall25")
            [attempt] = queries.counted_attempts(session, cohort, "latest", candidate=name)
            return attempt.result
    finally:
        book.close()


def test_result_files_export_without_a_gradebook(cli, tmp_path, course):
    junit = cli("export", str(course / "out"), "--format", "junit")
    assert junit.code == 0, junit.err
    root = ET.fromstring(junit.out)
    _check_junit(root)
    assert sorted(s.get("name") for s in root) == ["alice", "bob"]
    bob = next(s for s in root if s.get("name") == "bob")
    assert bob.get("failures") == "1" and "syntax error" in bob.find("testcase/failure").get("message")
    one = cli("export", str(course / "out" / "results" / "alice.json"), "--format", "gradescope", "--out", "r.json")
    assert one.code == 0, one.err
    document = json.loads((tmp_path / "r.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["score"] == len(document["tests"]) > 0
    both = cli("export", str(course / "out"), "--format", "gradescope")
    assert both.code == 2 and "one submission" in both.err and both.err.count("\n") == 1


# A passing submission's export is checked above; here the script's own paths (what it finds,
# what it says when nothing can be graded), each a real `dlverify grade` and `export` in a process.
@pytest.mark.parametrize("handed_in", ["does_not_parse", "nothing"])
def test_the_gradescope_autograder_example_writes_a_results_json_gradescope_reads(tmp_path, handed_in):
    import os
    import subprocess
    import sys

    repo = paths.Path(__file__).resolve().parent.parent
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    if handed_in == "does_not_parse":
        (root / "submission" / "mine.py").write_text("def mlp_loss_and_grads(:\n")
    env = {**os.environ, "AUTOGRADER": str(root), "EXERCISE": "backprop_mlp", "VISIBILITY": "after_due_date",
           "DLVERIFY": f"{sys.executable} -m dlverify", "PYTHONPATH": str(repo)}
    env.pop("DLVERIFY_DB", None)
    done = subprocess.run(["bash", str(repo / "docs" / "gradescope" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    if handed_in == "does_not_parse":
        [test] = document["tests"]
        assert document["score"] == 0 and test["max_score"] > 1 and "syntax error" in test["output"]
        assert test["visibility"] == "after_due_date"
    else:
        assert document["score"] == 0 and "submit one solution.py" in document["output"]
