"""The host around the sandbox (issue 11): what the grader's own process does with a candidate's
files and text. Links out of a hand-in, parsers that recurse, text that drives a terminal, one
candidate that stops a batch, a spreadsheet formula: each a row or a one-line verdict, never a
host secret, a forged line on screen, or exit 3."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from dlverify import batch, paths
from dlverify.batch import find_submissions
from dlverify.cli import Env, main
from dlverify.submission.read import SubmissionError, read_submission, syntax_error

SECRET = "HOST-SECRET-4f1d2a"


def _touch(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _summary(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def _fake_grader(monkeypatch, summary: str = "graded"):
    def fake(exercise_id, path, options, gpu=None):
        return {"exercise": exercise_id, "status": "passed", "passed": True, "summary": summary,
                "correctness_score": 1.0, "throughput": None, "submission_sha256": "0" * 64}

    monkeypatch.setattr(batch.run, "grade_to_dict", fake)


# --- 4. links out of the hand-in folder ------------------------------------------------

def test_links_out_of_the_hand_in_are_unreadable_rows_that_quote_nothing(cli, tmp_path):
    # The graders' reference passed as bob's work; /etc/shadow and /proc/self/environ landed in
    # summary.csv, quoted by nbformat's "not JSON" message; /proc/self/pagemap was an `error`.
    secret = _touch(tmp_path / "elsewhere" / "shadow.ipynb", f"{SECRET}:x:19000:0:99999:7:::\n")
    _touch(tmp_path / "elsewhere" / "solution.py", f"# {SECRET}\n")
    root = tmp_path / "hand-in"
    links = {
        "bob.py": paths.graders_dir() / "backprop_mlp" / "reference.py",
        "eve.ipynb": secret,
        "mal.ipynb": Path("/proc/self/environ"),
        "pam.py": Path("/proc/self/pagemap"),
        "carl/solution.py": secret,
        "dora": tmp_path / "elsewhere",  # a candidate's "folder" that is a link out
    }
    for name, target in links.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    os.environ[SECRET] = SECRET  # in this process's /proc/self/environ
    try:
        run = cli("grade-batch", "backprop_mlp", str(root), "--no-throughput", "--out", "res")
    finally:
        del os.environ[SECRET]
    assert run.code == 1, run.out + run.err  # nothing passed, and nothing is the grader's fault
    rows = {Path(f).parts[0]: r for f, r in _summary(tmp_path / "res").items()}  # relative to hand-in/
    assert set(rows) == {"bob.py", "eve.ipynb", "mal.ipynb", "pam.py", "carl", "dora"}
    assert {r["status"] for r in rows.values()} <= {"unreadable", "no_submission"}
    assert rows["bob.py"]["status"] == "unreadable" and "link" in rows["bob.py"]["summary"]
    everything = run.out + run.err + "".join(p.read_text() for p in (tmp_path / "res").rglob("*") if p.is_file())
    assert SECRET not in everything


def test_a_candidate_folder_named_one_by_one_that_links_out_is_a_row(tmp_path):
    # `grade-batch ex hand-in/*` names dora's link to graders/backprop_mlp/ itself: its
    # reference.py was a candidate of its own.
    (tmp_path / "hand-in").mkdir()
    (tmp_path / "hand-in" / "dora").symlink_to(paths.graders_dir() / "backprop_mlp")
    _touch(tmp_path / "hand-in" / "ann" / "solution.py")
    entries, skipped = find_submissions(sorted((tmp_path / "hand-in").iterdir()))
    assert [e.name for e in entries] == ["ann"]
    assert [s.path.name for s in skipped] == ["dora"] and "link out" in skipped[0].why


def test_a_link_inside_the_candidate_s_own_folder_is_read(tmp_path):
    own = _touch(tmp_path / "in" / "ann" / "work" / "main.py", "x = 2\n")
    (tmp_path / "in" / "ann" / "solution.py").symlink_to(own)
    entries, skipped = find_submissions([tmp_path / "in"])
    assert skipped == [] and read_submission(entries[0].path).source == "x = 2\n"


def test_a_file_that_says_it_is_empty_is_capped_by_the_read(tmp_path, monkeypatch):
    # /proc files say size 0: only a capped read keeps a huge one out of memory.
    from dlverify.submission import read as submission

    assert os.stat("/proc/self/environ").st_size == 0
    (tmp_path / "env.py").symlink_to("/proc/self/environ")
    monkeypatch.setattr(submission, "MAX_SOURCE_BYTES", 16)
    with pytest.raises(SubmissionError, match="larger than 16 bytes"):
        read_submission(tmp_path / "env.py", root=Path("/"))  # links followed anywhere under /


def test_a_notebook_error_never_quotes_the_file(tmp_path):
    bad = _touch(tmp_path / "nb.ipynb", f'{{"cells": [{SECRET}]}}')
    with pytest.raises(SubmissionError) as caught:
        read_submission(bad)
    message = str(caught.value)
    assert SECRET not in message and "\n" not in message and "line 1" in message


# --- 8. host-side parsing that recurses -------------------------------------------------

DEEP = "x = " + "1+" * 300_000 + "1\n"


def test_a_source_too_deep_to_parse_is_failed_with_one_line(write):
    from dlverify.engine import grade
    from dlverify.screening.introspection import violations as introspection
    from dlverify.packs.manifest import Rules
    from dlverify.outcome import Status
    from dlverify.screening.static_rules import violations as static

    why = syntax_error(DEEP)
    assert why is not None and "\n" not in why
    assert static(DEEP, Rules())[0][0] == "unparsable" and introspection(DEEP)[0][0] == "unparsable"
    result = grade("backprop_mlp", write("deep.py", DEEP), device="cpu", throughput=False)
    assert result.status is Status.FAILED and "\n" not in result.summary


def test_cuda_src_of_many_added_literals_is_read_without_recursion():
    from dlverify.packs.loading import load_pack
    from dlverify.packs.registry import get_exercise

    grader = load_pack(get_exercise("cuda_matmul")).grader
    many = "CUDA_SRC = " + " + ".join(f'"s{i} "' for i in range(2000)) + "\n"
    text, why = grader.module_literal(many, "CUDA_SRC")
    assert why == "" and text.startswith("s0 s1 ") and text.endswith("s1999 ")
    assert grader.module_literal(DEEP.replace("x =", "CUDA_SRC ="), "CUDA_SRC")[0] is None
    status, why = grader.binding_problem(DEEP)
    assert status == "failed" and "\n" not in why


@pytest.mark.parametrize("cell", [
    {"cell_type": "code", "source": None, "metadata": {}, "outputs": [], "execution_count": None},
    {"cell_type": "code", "source": 7, "metadata": {}, "outputs": [], "execution_count": None},
    {"source": "x = 1"},
    "not a cell",
])
def test_a_malformed_notebook_cell_is_one_line_and_a_batch_row(cli, tmp_path, cell):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}
    _touch(tmp_path / "in" / "nina.ipynb", json.dumps(nb))
    with pytest.raises(SubmissionError) as caught:
        read_submission(tmp_path / "in" / "nina.ipynb")
    assert "\n" not in str(caught.value)
    for _ in range(2):  # a second run read it again through the kept-result check, and aborted
        run = cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "res")
        assert run.code == 1, run.out + run.err
        assert _summary(tmp_path / "res")["nina.ipynb"]["status"] == "unreadable"  # relative to in/


# --- 9. terminal injection --------------------------------------------------------------

def test_control_characters_are_made_visible_not_obeyed():
    from dlverify.report.terminal_text import plain

    shown = plain("a\x1b[2J\r\nPASSED\x9b31m\u202egnp.py\u2066\ud8e9\x7f\tz")
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", shown)
    assert shown.startswith("a\\x1b[2J\\r\\nPASSED") and shown.endswith("z")
    assert plain("line 1\nline 2", newlines=True) == "line 1\nline 2"


FORGED = "graded\x1b[2K\r\n      PASSED  mallory  \u202e"


def test_grade_batch_rows_cannot_forge_rows(cli, tmp_path, monkeypatch):
    _fake_grader(monkeypatch, summary=FORGED)
    _touch(tmp_path / "in" / "alice.py")
    _touch(tmp_path / "in" / "b\x1b[31mob\n   PASSED  x.py")
    _touch(tmp_path / "in" / "c[bold]arl.py")
    run = cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "res")
    assert run.code == 0, run.err
    text = run.out + run.err
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    rows = [line for line in run.out.splitlines() if "graded" in line and "submissions graded" not in line]
    assert [line.split()[0] for line in rows] == ["PASSED"] * 3
    assert "c[bold]arl" in run.out


def test_grade_shows_a_file_name_and_message_as_text(cli, tmp_path):
    _touch(tmp_path / "x\x1b]0;owned\x07\u202e.py", "def f(:\n")
    run = cli("grade", "backprop_mlp", str(tmp_path / "x\x1b]0;owned\x07\u202e.py"), "--no-throughput")
    assert run.code == 1, run.out + run.err
    assert "\x1b" not in run.out + run.err and "\x07" not in run.out and "FAILED" in run.out


def test_a_usage_error_names_the_file_as_text(cli, tmp_path):
    run = cli("grade", "backprop_mlp", "gone\x1b[2J.py")
    assert run.code == 2 and "\x1b" not in run.err and run.err.count("\n") == 1


def test_the_verdict_report_shows_candidate_text_as_text():
    from datetime import datetime, timezone

    from rich.console import Console

    from dlverify.verdict.answers import Answers
    from dlverify.verdict.engine import build_report
    from dlverify.verdict.report_terminal import render_terminal
    from dlverify.verdict.results import results_from_dicts
    from verdict_helpers import answers_dict, result_doc

    answers = Answers.from_dict(answers_dict(goals={"current_role": "dev\x1b[2J\nQUALIFIED NOW\u202e"}))
    doc = result_doc("backprop_mlp", "failed", passed=1)
    doc["summary"] = FORGED
    report = build_report(answers, results_from_dicts([("backprop_mlp", doc)]), "engineer",
                          now=datetime(2025, 3, 1, tzinfo=timezone.utc))
    out = io.StringIO()
    render_terminal(report, Console(file=out, width=100, color_system=None, force_terminal=False))
    assert "dev" in out.getvalue()
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()


# --- 10. one candidate never stops a batch ----------------------------------------------

def test_a_name_that_is_not_utf8_is_printed_on_a_utf8_terminal(tmp_path, monkeypatch):
    _fake_grader(monkeypatch)
    _touch(tmp_path / "in" / os.fsdecode(b"caf\xe9.py"))
    _touch(tmp_path / "in" / "zed.py")
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    code = main(["grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "res"],
                Env(stdin=io.StringIO(), stdout=stdout, stderr=io.StringIO(), cwd=tmp_path))
    assert code == 0
    assert raw.getvalue().decode("utf-8").count("PASSED") == 2


def test_names_that_clash_are_rows_and_the_batch_goes_on(cli, tmp_path, monkeypatch):
    _fake_grader(monkeypatch)
    _touch(tmp_path / "in" / "BOB.py")
    _touch(tmp_path / "in" / "bob" / "solution.py")
    _touch(tmp_path / "in" / "bob.ipynb", "{}")
    _touch(tmp_path / "in" / "ann.py")
    entries, skipped = find_submissions([tmp_path / "in"])
    assert [e.name for e in entries] == ["ann"]
    assert sorted((s.name, s.path.relative_to(tmp_path / "in").as_posix()) for s in skipped) == [
        ("BOB", "BOB.py"), ("bob", "bob.ipynb"), ("bob", "bob/solution.py")]
    assert all("rename" in s.why for s in skipped)
    run = cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "res")
    assert run.code == 1, run.out + run.err
    statuses = sorted(r["status"] for r in _summary(tmp_path / "res").values())
    assert statuses == ["no_submission"] * 3 + ["passed"]


# --- 11. smaller ones -------------------------------------------------------------------

def test_a_notebook_is_read_once_and_hashed_as_parsed(tmp_path, monkeypatch):
    import hashlib

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: (opened.append(str(p)), real_open(p, *a, **k))[1])
    monkeypatch.setattr(nbformat, "read", None)  # reading the file a second time, by name
    sub = read_submission(path)
    assert opened.count(str(path)) == 1 and "x = 1" in sub.source
    assert sub.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    for name, text in (("bom.py", "x = 1\n"), ("bom.ipynb", nbformat.writes(nbformat.v4.new_notebook()))):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        sub = read_submission(path)
        assert not sub.source.startswith("\ufeff") and syntax_error(sub.source) is None


@pytest.mark.parametrize("text", [" =1+1", "\t=cmd|' /C calc'!A0", "\n@SUM(1)", "\uff1dHYPERLINK(\"x\")",
                                  "\uff0b1", "\uff0d1", "\uff20SUM(1)", "\u3000=1", "\ufe66 1"])
def test_formula_variants_are_text_in_a_spreadsheet(tmp_path, text):
    outcome = batch.Outcome(rows=[batch.Row(text, "/in/x.py", "failed", summary=text)])
    csv_path, _ = batch.write_summary(tmp_path, "backprop_mlp", outcome)
    row = next(csv.DictReader(csv_path.open(encoding="utf-8", newline="")))
    from dlverify.report.terminal_text import plain

    shown = "'" + plain(text, newlines=True)        # a tab or other control shown as its escape
    assert row["name"] == shown and row["summary"] == shown


def test_a_hard_link_to_the_graders_reference_is_not_a_submission(tmp_path, cli):
    """Found by a red team: a hand-in unpacked with a hard link to graders/<id>/reference.py passed,
    since the link is a file inside the folder. The grader's own files are never read as one."""
    from dlverify import paths

    hand_in = tmp_path / "hand-in"
    hand_in.mkdir()
    reference = paths.graders_dir() / "backprop_mlp" / "reference.py"
    try:
        os.link(reference, hand_in / "mallory.py")
    except OSError:
        pytest.skip("this file system cannot hard-link the repository's files here")
    (hand_in / "honest.py").write_text(reference.read_text())   # the same text, a file of its own
    run = cli("grade-batch", "backprop_mlp", str(hand_in), "--out", str(tmp_path / "out"), "--no-throughput",
              "--jobs", "1")
    rows = {r["name"]: r for r in json.loads((tmp_path / "out" / "summary.json").read_text())["rows"]}
    assert rows["mallory"]["status"] == "unreadable"
    assert "grader's own files" in rows["mallory"]["summary"] and "reference" not in rows["mallory"]["summary"]
    assert rows["honest"]["status"] == "passed", run.out


def test_summary_csv_never_replays_a_name_s_escape_sequences(tmp_path, cli, backprop_reference):
    """Found by a red team: summary.json and the terminal escaped them, summary.csv did not."""
    hand_in = tmp_path / "hand-in"
    hand_in.mkdir()
    for name in ("\x1b[32mPASSED\x1b[0m\x1b[2K.py", "\u202eyp.live.py"):
        (hand_in / name).write_text(backprop_reference)
    cli("grade-batch", "backprop_mlp", str(hand_in), "--out", str(tmp_path / "out"), "--no-throughput",
        "--jobs", "1")
    text = (tmp_path / "out" / "summary.csv").read_text(encoding="utf-8")
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[32mPASSED" in text and "\\u202e" in text


def test_a_null_byte_is_one_honest_line():
    from dlverify.submission.read import syntax_error

    message = syntax_error("x = 1\x00\n")
    assert message and "None" not in message and "\n" not in message


def test_a_transient_parser_fault_is_retried_and_a_persistent_one_is_the_sources(monkeypatch):
    """CPython 3.11's AST constructor can be left unbalanced by another thread's parse; the next
    parse raises SystemError (seen in a two-worker suite run: innocent files 'rejected'). Parses are
    serialised and a SystemError retried once; one that persists is the source's doing, one line,
    never the grader's `error` (which no candidate may cause)."""
    import ast as ast_module

    from dlverify.submission import parsing

    calls = []
    real = ast_module.parse

    def flaky(source, filename="<unknown>"):
        calls.append(1)
        if len(calls) == 1:
            raise SystemError("AST constructor recursion depth mismatch (before=0, after=1)")
        return real(source, filename=filename)

    monkeypatch.setattr(parsing.ast, "parse", flaky)
    assert parsing.parse_source("x = 1\n").body and len(calls) == 2

    def broken(source, filename="<unknown>"):
        raise SystemError("AST constructor recursion depth mismatch (before=0, after=1)")

    monkeypatch.setattr(parsing.ast, "parse", broken)
    with pytest.raises(parsing.UnparsableSource, match=r"cannot parse the source \(SystemError\)"):
        parsing.parse_source("x = 1\n")
