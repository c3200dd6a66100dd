"""`dlverify grade-batch`: finding submissions, grading them side by side, results that
survive an interrupt, re-runs that grade only what changed, and a Ray fleet."""

from __future__ import annotations

import csv
import datetime
import hashlib
import shutil
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from dlverify import __version__ as dlverify_version
from dlverify import batch
from dlverify.batch import BatchError, Entry, Options, earlier_result, find_submissions, result_name

WRONG = ("def mlp_loss_and_grads(params, x, y):\n"
         "    return 0.0, {k: v * 0 for k, v in params.items()}\n")


def _touch(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- finding submissions -------------------------------------------------------------

def test_files_and_candidate_folders_are_found_by_name(tmp_path):
    root = tmp_path / "hand-in"
    _touch(root / "alice.py")
    _touch(root / "bob.ipynb", "{}")
    _touch(root / "carol" / "solution.py")
    _touch(root / "carol" / "helper_notes.txt")
    _touch(root / "dave" / "solution.ipynb", "{}")
    _touch(root / "erin" / "my_attempt.py")
    _touch(root / "notes.md")               # not a submission: passed over in silence
    _touch(root / ".hidden.py")
    _touch(root / "__pycache__" / "x.py")
    entries, skipped = find_submissions([root])
    assert {e.name: e.path.relative_to(root).as_posix() for e in entries} == {
        "alice": "alice.py", "bob": "bob.ipynb", "carol": "carol/solution.py",
        "dave": "dave/solution.ipynb", "erin": "erin/my_attempt.py"}
    assert skipped == []


@pytest.mark.parametrize("files, why", [
    (["solution.py", "solution.ipynb"], "both solution.py and solution.ipynb"),
    ([], "no .py or .ipynb file"),
    (["a.py", "b.py"], "2 .py/.ipynb files and no solution.py to choose"),
])
def test_a_folder_without_one_clear_submission_is_passed_over_with_the_reason(tmp_path, files, why):
    root = tmp_path / "in"
    _touch(root / "ok.py")
    (root / "frank").mkdir(parents=True)
    for name in files:
        _touch(root / "frank" / name)
    entries, skipped = find_submissions([root])
    assert [e.name for e in entries] == ["ok"]
    assert len(skipped) == 1 and str(skipped[0]).endswith(why) and skipped[0].path.name == "frank"


@pytest.mark.parametrize("make, words", [
    (lambda t: [t / "missing"], "no such file or folder"),
    (lambda t: [_touch(t / "a.txt")], "expected a .py or .ipynb file"),
    (lambda t: [(t / "empty").mkdir() or t / "empty"], "no .py or .ipynb submissions found"),
])
def test_bad_targets_are_one_clear_error(tmp_path, make, words):
    with pytest.raises(BatchError, match=words):
        find_submissions(make(tmp_path))


def test_a_folder_and_a_file_inside_it_are_one_submission(tmp_path):
    alice = _touch(tmp_path / "in" / "alice.py")
    entries, _ = find_submissions([tmp_path / "in", alice, tmp_path / "in" / "." / "alice.py"])
    assert [(e.name, e.path) for e in entries] == [("alice", alice)]


def test_a_broken_link_is_a_row_not_a_silent_gap(tmp_path):
    _touch(tmp_path / "in" / "alice.py")
    (tmp_path / "in" / "bob.py").symlink_to(tmp_path / "gone.py")
    entries, _ = find_submissions([tmp_path / "in"])
    assert [e.name for e in entries] == ["alice", "bob"]  # bob was dropped without a word


def test_a_folder_that_cannot_be_read_is_named_not_a_crash(tmp_path, monkeypatch):
    root = tmp_path / "in"
    _touch(root / "alice.py")
    _touch(root / "dan" / "solution.py")
    real = Path.iterdir

    def iterdir(self):
        if self.name in ("dan", "in") and getattr(iterdir, "deny", None) == self.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    iterdir.deny = "dan"
    (root / "dan" / "solution.py").rename(root / "dan" / "work.py")  # so the folder must be listed
    entries, skipped = find_submissions([root])
    assert [e.name for e in entries] == ["alice"]
    assert [str(s) for s in skipped] == [f"{root / 'dan'}: cannot be read (Permission denied)"]
    iterdir.deny = "in"
    with pytest.raises(BatchError, match="cannot be read"):
        find_submissions([root])


def test_the_output_folder_inside_the_hand_in_is_not_a_candidate(tmp_path):
    root = tmp_path / "in"
    _touch(root / "alice.py")
    _touch(root / "res" / "results" / "alice.json", "{}")
    _touch(root / "results" / "alice.json", "{}")  # --out in/ itself
    assert [str(s) for s in find_submissions([root], out=root / "res")[1]] == [
        f"{root / 'results'}: holds no .py or .ipynb file"]
    assert [str(s) for s in find_submissions([root], out=root)[1]] == [f"{root / 'res'}: holds no .py or .ipynb file"]


def test_a_file_name_that_is_not_utf8_is_graded_and_summarised(tmp_path):
    bad = tmp_path / "in" / os.fsdecode(b"caf\xe9.py")
    _touch(bad)
    entries, _ = find_submissions([tmp_path / "in"])
    outcome = batch.Outcome(rows=[batch.Row(entries[0].name, str(bad), "passed", passed=True,
                                            result=result_name(entries[0].name))])
    csv_path, json_path = batch.write_summary(tmp_path / "out", "backprop_mlp", outcome)
    with csv_path.open(encoding="utf-8", newline="") as handle:
        assert next(csv.DictReader(handle))["name"] == "caf\\udce9"
    assert json.loads(json_path.read_text())["rows"][0]["name"] == entries[0].name


def test_result_file_names_cannot_leave_the_results_folder():
    assert result_name("alice") == "results/alice.json"
    assert result_name("../../etc/passwd").startswith("results/.._.._etc_passwd-")
    assert "/" not in result_name("a/b")[len("results/"):]


def test_names_that_sanitise_alike_get_their_own_result_files():
    # "a b" was written to results/a_b.json, over a_b's own result (and zoë's over zoé's).
    names = ["a b", "a_b", "a/b", "zoë", "zoé", "x" * 300, "x" * 301]
    files = [result_name(n) for n in names]
    assert len(set(files)) == len(names)
    assert all(len(f[len("results/"):] + ".part") < 255 for f in files)  # "x" * 300 could not be written


def test_names_one_result_file_apart_only_by_case_are_rows_not_graded(tmp_path):
    # Distinct on this disk, one file on a case-insensitive one (a share, a laptop); or one name
    # in two folders given. Which is the candidate's is not ours to guess: a row each, and the
    # batch goes on (it used to refuse the whole batch).
    _touch(tmp_path / "in" / "Alice.py")
    _touch(tmp_path / "in" / "alice.py")
    _touch(tmp_path / "in" / "bob.py")
    _touch(tmp_path / "y" / "bob.py")
    entries, skipped = find_submissions([tmp_path / "in", tmp_path / "y" / "bob.py"])
    assert entries == []
    assert sorted(s.name for s in skipped) == ["Alice", "alice", "bob", "bob"]
    assert all("rename one" in s.why for s in skipped)


# --- keeping earlier results ---------------------------------------------------------

def _earlier(tmp_path: Path, entry: Entry, **changes) -> Path:
    from dlverify.submission.read import read_submission

    data = {"exercise": "backprop_mlp", "submission_sha256": read_submission(entry.path).sha256,
            "status": "failed", "device": {"kind": "cpu"}, "throughput": None, "summary": "0/12",
            "versions": {"dlverify": dlverify_version}}
    data.update(changes)
    target = tmp_path / "out" / result_name(entry.name)
    _touch(target, json.dumps(data))
    return tmp_path / "out"


def test_an_earlier_result_stands_for_the_same_bytes(tmp_path):
    entry = Entry("alice", _touch(tmp_path / "alice.py", WRONG))
    out = _earlier(tmp_path, entry)
    assert earlier_result(out, entry, "backprop_mlp", "cpu")["summary"] == "0/12"
    assert earlier_result(out, entry, "backprop_mlp", "auto") is not None


@pytest.mark.parametrize("changes, exercise, device", [
    ({"submission_sha256": "0" * 64}, "backprop_mlp", "cpu"),     # the file changed since
    ({}, "attention", "cpu"),                                     # another exercise
    ({"status": "error"}, "backprop_mlp", "cpu"),                 # the grader's fault says nothing
    ({"device": {"kind": "cuda"}}, "backprop_mlp", "cpu"),        # graded on another device
    ({"status": "passed"}, "backprop_mlp", "cpu"),                # a pass without the timing asked for now
    ({"versions": {"dlverify": "0.0.1"}}, "backprop_mlp", "cpu"),  # another grader graded it
])
def test_an_earlier_result_is_graded_again_when_it_no_longer_stands(tmp_path, changes, exercise, device):
    entry = Entry("alice", _touch(tmp_path / "alice.py", WRONG))
    out = _earlier(tmp_path, entry, **changes)
    assert earlier_result(out, entry, exercise, device) is None


def test_a_pass_without_timing_stands_when_no_timing_is_asked(tmp_path):
    entry = Entry("alice", _touch(tmp_path / "alice.py", WRONG))
    out = _earlier(tmp_path, entry, status="passed")
    assert earlier_result(out, entry, "backprop_mlp", "cpu", throughput=False) is not None


def test_a_torn_or_foreign_result_file_is_graded_again(tmp_path):
    entry = Entry("alice", _touch(tmp_path / "alice.py", WRONG))
    _touch(tmp_path / "out" / result_name("alice"), '{"exercise": "backprop_')
    assert earlier_result(tmp_path / "out", entry, "backprop_mlp", "cpu") is None
    _touch(tmp_path / "out" / result_name("alice"), "[1, 2]")
    assert earlier_result(tmp_path / "out", entry, "backprop_mlp", "cpu") is None


# --- running side by side ----------------------------------------------------------

def _fake_grader(monkeypatch, seconds: float = 0.05, interrupt_on: str | None = None,
                 raise_on: dict[str, BaseException] | None = None, summary: str = "graded {}"):
    """Stands in for grade() to test the batch's plumbing: which GPU each call got, and when."""
    calls: list[tuple[str, int | None, float, float]] = []
    lock = threading.Lock()

    def fake(exercise_id, path, options, gpu=None):
        start = time.monotonic()
        if path.stem == interrupt_on:
            # Ctrl-C while this grading runs: the signal reaches the main thread, and
            # this grading goes on to its end, as a real one does inside its limits.
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)
        time.sleep(seconds)
        with lock:
            calls.append((path.stem, gpu, start, time.monotonic()))
        if path.stem in (raise_on or {}):
            raise raise_on[path.stem]
        return {"exercise": exercise_id, "status": "passed", "passed": True, "summary": summary.format(path.stem),
                "correctness_score": 1.0, "throughput": None, "submission_sha256": "0" * 64}

    monkeypatch.setattr(batch.run, "grade_to_dict", fake)
    return calls


def test_one_grading_per_gpu_at_a_time(tmp_path, monkeypatch):
    calls = _fake_grader(monkeypatch, seconds=0.1)
    entries = [Entry(f"s{i}", _touch(tmp_path / f"s{i}.py")) for i in range(8)]
    rows, interrupted = batch.run_local("backprop_mlp", entries, tmp_path / "out", Options(), jobs=8,
                                        gpus=[0, 3], on_row=lambda r: None)
    assert not interrupted and len(rows) == 8 and {gpu for _, gpu, _, _ in calls} == {0, 3}
    for gpu in (0, 3):
        spans = sorted((s, e) for _, g, s, e in calls if g == gpu)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "two gradings shared a GPU"
    assert all((tmp_path / "out" / r.result).is_file() for r in rows)


def test_an_interrupt_keeps_what_was_graded_and_starts_nothing_more(tmp_path, monkeypatch):
    calls = _fake_grader(monkeypatch, interrupt_on="s2")
    entries = [Entry(f"s{i}", _touch(tmp_path / f"s{i}.py")) for i in range(6)]
    seen = []
    rows, interrupted = batch.run_local("backprop_mlp", entries, tmp_path / "out", Options(), jobs=1, gpus=None,
                                        on_row=seen.append)
    assert interrupted
    assert [r.name for r in rows] == ["s0", "s1", "s2"] == [r.name for r in seen]
    assert [c[0] for c in calls] == ["s0", "s1", "s2"]  # nothing after the interrupt started
    assert sorted(p.name for p in (tmp_path / "out" / "results").iterdir()) == ["s0.json", "s1.json", "s2.json"]


def test_one_grading_that_raises_is_an_error_row_and_the_rest_are_graded(tmp_path, monkeypatch):
    _fake_grader(monkeypatch, raise_on={"s1": KeyError("a grader bug")})
    entries = [Entry(f"s{i}", _touch(tmp_path / f"s{i}.py")) for i in range(4)]
    rows, _ = batch.run_local("backprop_mlp", entries, tmp_path / "out", Options(), jobs=2, gpus=None,
                              on_row=lambda r: None)
    by_name = {r.name: r for r in rows}
    assert len(rows) == 4 and by_name["s1"].status == "error" and "KeyError" in by_name["s1"].summary
    assert {by_name[n].status for n in ("s0", "s2", "s3")} == {"passed"}


def test_an_error_that_ends_the_batch_starts_nothing_more(tmp_path, monkeypatch):
    from dlverify.engine import UsageError

    calls = _fake_grader(monkeypatch, raise_on={"s1": UsageError("--gpus: no GPU 5")})
    entries = [Entry(f"s{i}", _touch(tmp_path / f"s{i}.py")) for i in range(8)]
    with pytest.raises(UsageError):
        batch.run_local("backprop_mlp", entries, tmp_path / "out", Options(), jobs=1, gpus=None,
                        on_row=lambda r: None)
    time.sleep(0.6)  # the pool used to go on grading every queued submission (all 8), unseen
    assert len(calls) <= 3  # s0, s1, and at most the one its worker had already taken


def test_a_file_without_read_permission_is_an_unreadable_row(tmp_path, monkeypatch):
    denied = _touch(tmp_path / "in" / "dan.py", WRONG)
    real = os.open

    def open_(path, *args, **kwargs):  # root reads anything, so the permission is taken away here
        if os.fspath(path) == str(denied):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    data = batch.grade_to_dict("backprop_mlp", denied, Options(device="cpu", throughput=False))
    assert data == {batch.UNREADABLE: f"{denied}: cannot be read (Permission denied)"}


# --- the command, end to end on the real grader ----------------------------------------

@pytest.fixture
def hand_in(tmp_path, backprop_reference):
    root = tmp_path / "hand-in"
    _touch(root / "alice.py", backprop_reference)
    _touch(root / "bob.py", WRONG)
    _touch(root / "carol" / "solution.py", backprop_reference)
    _touch(root / "erin.ipynb", "{not a notebook")
    return root


def _summary(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open() as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def test_grade_batch_grades_every_submission_and_a_rerun_grades_only_what_changed(cli, tmp_path, hand_in,
                                                                                backprop_reference):
    run = cli("grade-batch", "backprop_mlp", str(hand_in), "--no-throughput", "--jobs", "2", "--out", "res")
    assert run.code == 1, run.out + run.err  # bob fails, erin is unreadable
    out = tmp_path / "res"
    rows = _summary(out)
    assert {n: r["status"] for n, r in rows.items()} == {
        "alice": "passed", "bob": "failed", "carol": "passed", "erin": "unreadable"}
    assert "not a readable notebook" in rows["erin"]["summary"]
    alice = json.loads((out / "results" / "alice.json").read_text())
    assert alice["status"] == "passed" and alice["submission_file"] == str(hand_in / "alice.py")
    totals = json.loads((out / "summary.json").read_text())
    assert totals["counts"] == {"passed": 2, "failed": 1, "unreadable": 1} and not totals["interrupted"]

    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    _touch(hand_in / "bob.py", backprop_reference)  # bob fixes his submission
    again = cli("grade-batch", "backprop_mlp", str(hand_in), "--no-throughput", "--out", "res")
    assert again.code == 1  # erin still cannot be read
    rows = _summary(out)
    assert {n: (r["status"], r["graded"]) for n, r in rows.items()} == {
        "alice": ("passed", "kept"), "bob": ("passed", "now"), "carol": ("passed", "kept"),
        "erin": ("unreadable", "now")}
    assert "2 kept from an earlier run" in again.out
    now = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    assert now["alice.json"] == stamps["alice.json"] and now["bob.json"] != stamps["bob.json"]

    (hand_in / "erin.ipynb").unlink()
    fresh = cli("grade-batch", "backprop_mlp", str(hand_in), "--no-throughput", "--out", "res", "--fresh")
    assert fresh.code == 0, fresh.out + fresh.err
    assert {r["graded"] for r in _summary(out).values()} == {"now"}


@pytest.mark.parametrize("argv, words", [
    (["--gpus", "0,x"], "--gpus must be GPU indices"),
    (["--gpus", "1,1"], "--gpus must be distinct"),
    (["--gpus", "0", "--ray", "auto"], "--gpus does not apply with --ray"),
    (["--gpus", "0", "--device", "cpu"], "--gpus needs --device cuda"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--device", "cuda"], "no CUDA device is visible"),
    (["--out", "taken.txt"], "exists and is not a folder"),
    (["--out", "taken.txt/sub"], "cannot write there"),
    (["--gpus", "0"], "--gpus: backprop_mlp is graded on the CPU"),
    (["--sandbox", "docker"], "no Docker engine answers"),
])
def test_bad_batch_options_are_one_clear_line(cli, tmp_path, hand_in, argv, words):
    import torch

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    if "docker" in argv:
        from dlverify.isolation.docker import docker_available

        if docker_available():
            pytest.skip("a Docker engine answers here")
    _touch(tmp_path / "taken.txt")
    run = cli("grade-batch", "backprop_mlp", str(hand_in), *argv)
    assert run.code == 2, run.out + run.err
    assert words in run.err and run.err.count("\n") == 1 and "Traceback" not in run.err


def test_gpus_beyond_this_machine_are_refused_before_grading(cli, tmp_path, monkeypatch):
    import torch

    from dlverify.launch import environment

    calls = _fake_grader(monkeypatch)
    monkeypatch.setattr(environment, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    _touch(tmp_path / "in" / "alice.py")
    run = cli("grade-batch", "attention", "in", "--gpus", "0,5")
    assert run.code == 2 and "--gpus: no GPU 5 on this machine (it has 2: 0 to 1)" in run.err, run.err
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    run = cli("grade-batch", "attention", "in", "--gpus", "2,1")
    assert run.code == 2 and "GPU 1: this process may only use CUDA_VISIBLE_DEVICES=2,3" in run.err, run.err
    assert calls == []


def test_candidate_text_is_shown_as_written_never_as_markup(cli, tmp_path, monkeypatch):
    # A class named "[/]" called with the inputs: "TypeError: [/]() takes no arguments" is the
    # summary, and the console took it for a closing tag: the whole batch ended (exit 3), and
    # ended again on every re-run, the row being kept.
    _fake_grader(monkeypatch, summary="0/12 cases passed; raised: TypeError: [/]() takes no arguments")
    _touch(tmp_path / "in" / "alice.py")
    _touch(tmp_path / "in" / "x[bold]y.py")  # a name the console styled, and showed as "xy"
    for _ in range(2):
        run = cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "res")
        assert run.code == 0, run.err
        for name in ("alice", "x[bold]y"):
            assert f"{name}  0/12 cases passed; raised: TypeError: [/]() takes no arguments" in run.out


def test_results_of_submissions_gone_since_are_named_not_summarised(cli, tmp_path, monkeypatch):
    _fake_grader(monkeypatch)
    for name in ("alice", "bob", "carol"):
        _touch(tmp_path / "in" / f"{name}.py", name)
    assert cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "in/res").code == 0
    (tmp_path / "in" / "bob.py").unlink()
    (tmp_path / "in" / "carol.py").rename(tmp_path / "in" / "carol2.py")
    run = cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "in/res")
    assert run.code == 0 and "passed over" not in run.err  # in/res is the output, not a candidate
    totals = json.loads((tmp_path / "in" / "res" / "summary.json").read_text())
    assert [r["name"] for r in totals["rows"]] == ["alice", "carol2"] and totals["skipped"] == []
    assert totals["other_results"] == ["results/bob.json", "results/carol.json"]
    assert "2 result file(s)" in run.err and "results/bob.json, results/carol.json" in run.err


def test_nothing_to_grade_is_a_usage_error(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    run = cli("grade-batch", "backprop_mlp", "empty")
    assert run.code == 2 and "no .py or .ipynb submissions found" in run.err


# --- a Ray fleet -------------------------------------------------------------------

class _FakeRay:
    """Ray's wait/get/cancel, for the driver's bookkeeping: faults and hung runners."""

    def __init__(self, outcomes: dict[str, object]):
        self.outcomes, self.cancelled = outcomes, []

    def wait(self, refs, num_returns, timeout):
        ready = [r for r in refs if self.outcomes[r] != "hang"][:num_returns]
        if not ready:
            time.sleep(0.1)  # as Ray does: wait out the timeout
        return ready, [r for r in refs if r not in ready]

    def get(self, ref):
        value = self.outcomes[ref]
        if isinstance(value, Exception):
            raise value
        return dict(value)

    def cancel(self, ref, force):
        self.cancelled.append((ref, force))


def test_the_driver_reports_runner_faults_and_cancels_hung_runners_as_grader_errors(tmp_path):
    from dlverify.batch import fleet

    ok = {"exercise": "backprop_mlp", "status": "failed", "passed": False, "summary": "0/12",
          "correctness_score": 0.0, "throughput": None, "_runner": "gpu-node-7"}
    fake = _FakeRay({"a": ok, "b": RuntimeError("worker died\nThe actor died unexpectedly"), "c": "hang"})
    entries = {name: Entry(name, _touch(tmp_path / f"{name}.py")) for name in "abc"}
    rows, interrupted = fleet._collect(fake, lambda e: e.name, list(entries.values()), capacity=3,
                                       out=tmp_path / "out", overdue_after=0.25, on_row=lambda r: None)
    by_name = {r.name: r for r in rows}
    assert not interrupted
    assert by_name["a"].status == "failed" and by_name["a"].runner == "gpu-node-7"
    assert by_name["b"].status == "error" and "runner fault (not the submission's)" in by_name["b"].summary
    assert "The actor died unexpectedly" in by_name["b"].summary
    assert by_name["c"].status == "error" and "cancelled" in by_name["c"].summary
    assert fake.cancelled == [("c", True)]


def test_a_file_the_driver_cannot_read_is_an_unreadable_row(tmp_path):
    from dlverify.batch import fleet

    ok = {"exercise": "backprop_mlp", "status": "passed", "passed": True, "summary": "", "throughput": None}
    entries = [Entry(n, tmp_path / f"{n}.py") for n in ("a", "gone", "b")]
    _touch(entries[0].path), _touch(entries[2].path)

    def submit(entry):
        entry.path.read_bytes()  # as run_on_ray's submit does
        return entry.name

    rows, _ = fleet._collect(_FakeRay({"a": ok, "b": ok}), submit, list(entries), capacity=1,
                             out=tmp_path / "out", overdue_after=60.0, on_row=lambda r: None)
    assert {r.name: r.status for r in rows} == {"a": "passed", "gone": "unreadable", "b": "passed"}


def test_a_runner_names_the_submission_not_its_temporary_copy(tmp_path):
    from dlverify.batch import fleet

    data = fleet._grade_on_runner("backprop_mlp", "/hand-in/bob.py", ".py", b"\xff\xfe", {"device": "cpu"})
    assert data[batch.UNREADABLE] == "/hand-in/bob.py: not UTF-8 text"


def test_an_address_where_nothing_answers_fails_at_once(monkeypatch):
    import socket
    import sys
    import types

    from dlverify.batch import fleet

    def init(**kwargs):  # given a dead address, the real one retries for ~14 minutes
        raise AssertionError("ray.init reached")

    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(init=init))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the probe is: nothing listens there
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(BatchError, match=f"nothing answers at 127.0.0.1:{port}"):
            fleet._connect(address)


def test_no_more_tasks_in_flight_than_the_cluster_can_run(tmp_path):
    from dlverify.batch import fleet

    most = [0]

    class Tracking(_FakeRay):
        def wait(self, refs, num_returns, timeout):
            most[0] = max(most[0], len(refs))
            return super().wait(refs, num_returns, timeout)

    result = {"exercise": "x", "status": "passed", "passed": True, "summary": "", "throughput": None}
    entries = [Entry(f"s{i}", _touch(tmp_path / f"s{i}.py")) for i in range(7)]
    fake = Tracking({e.name: result for e in entries})
    rows, _ = fleet._collect(fake, lambda e: e.name, entries, capacity=2,
                             out=tmp_path / "out", overdue_after=60.0, on_row=lambda r: None)
    assert len(rows) == 7 and most[0] == 2


def test_grade_batch_over_a_local_ray_instance(cli, tmp_path, hand_in):
    pytest.importorskip("ray")
    (hand_in / "erin.ipynb").unlink()
    shutil.rmtree(hand_in / "carol")
    run = cli("grade-batch", "backprop_mlp", str(hand_in), "--no-throughput", "--ray", "local", "--out", "res")
    assert run.code == 1, run.out + run.err
    rows = _summary(tmp_path / "res")
    assert {n: r["status"] for n, r in rows.items()} == {"alice": "passed", "bob": "failed"}
    import socket

    assert {r["runner"] for r in rows.values()} == {socket.gethostname()}
    bob = json.loads((tmp_path / "res" / "results" / "bob.json").read_text())
    assert bob["submission_file"] == str(hand_in / "bob.py")  # not the runner's temporary copy
    assert bob["sandbox"]["kind"] == "local"


def test_a_folder_without_a_submission_is_a_row_and_the_batch_did_not_all_pass(cli, tmp_path, monkeypatch):
    _fake_grader(monkeypatch)
    _touch(tmp_path / "in" / "alice.py")
    (tmp_path / "in" / "frank").mkdir()
    _touch(tmp_path / "in" / "frank" / "notes.txt")
    run = cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "res")
    assert run.code == 1, run.out + run.err  # frank handed in nothing
    rows = _summary(tmp_path / "res")
    assert rows["frank"]["status"] == "no_submission" and rows["frank"]["summary"] == "holds no .py or .ipynb file"
    assert rows["alice"]["status"] == "passed"


def test_a_spreadsheet_never_runs_a_candidate_s_text(tmp_path):
    # A file named like a formula must show as text in Excel or LibreOffice, not run.
    outcome = batch.Outcome(rows=[batch.Row("=HYPERLINK(\"http://x\")", "/in/=HYPERLINK.py", "failed",
                                            summary="-1 cases; raised: @x", correctness=-0.0)])
    csv_path, _ = batch.write_summary(tmp_path, "backprop_mlp", outcome)
    row = next(csv.DictReader(csv_path.open()))
    assert row["name"] == "'=HYPERLINK(\"http://x\")" and row["summary"] == "'-1 cases; raised: @x"
    assert row["file"] == "/in/=HYPERLINK.py" and row["correctness"] == "-0.0"  # numbers stay numbers
    assert not list(tmp_path.glob("*.part"))


def test_candidate_folders_named_one_by_one_are_candidates(tmp_path):
    # `dlverify grade-batch ex hand-in/*` hands over each candidate's folder itself.
    for name in ("alice", "bob"):
        _touch(tmp_path / "hand-in" / name / "solution.py")
    _touch(tmp_path / "hand-in" / "carol" / "solution.py")
    _touch(tmp_path / "hand-in" / "carol" / "solution.ipynb", "{}")
    entries, skipped = find_submissions(sorted((tmp_path / "hand-in").iterdir()))
    assert [(e.name, e.path.parent.name) for e in entries] == [("alice", "alice"), ("bob", "bob")]
    assert [s.path.name for s in skipped] == ["carol"] and "both solution.py and solution.ipynb" in skipped[0].why


def test_the_totals_count_submissions_and_candidates(cli, tmp_path, monkeypatch):
    """`2 of 2 submissions` alone, over a summary of 3 rows, read as a candidate lost."""
    _fake_grader(monkeypatch)
    _touch(tmp_path / "in" / "alice.py")
    _touch(tmp_path / "in" / "bob.py")
    _touch(tmp_path / "in" / "frank" / "notes.txt")
    run = cli("grade-batch", "backprop_mlp", "in", "--no-throughput", "--out", "res")
    assert "2 of 2 submissions graded; 3 candidates in the summary (1 with no submission)" in run.out, run.out


def test_the_csv_a_ta_opens_has_numbers_provenance_and_relative_paths(cli, tmp_path, backprop_reference):
    _touch(tmp_path / "hand-in" / "alice.py", backprop_reference)
    _touch(tmp_path / "hand-in" / "bob" / "solution.py", WRONG)
    _touch(tmp_path / "hand-in" / "frank" / "notes.txt")
    run = cli("grade-batch", "backprop_mlp", "hand-in", "--no-throughput", "--out", "res")
    assert run.code == 1, run.err
    rows = _summary(tmp_path / "res")
    alice, bob, frank = rows["alice"], rows["bob"], rows["frank"]
    assert alice["file"] == "alice.py" and bob["file"] == "bob/solution.py" and frank["file"] == "frank"
    assert int(alice["cases_passed"]) == int(alice["cases_total"]) > 0
    assert int(bob["cases_passed"]) < int(bob["cases_total"]) == int(alice["cases_total"])
    assert (alice["points"], alice["max_points"]) == (alice["cases_passed"], alice["cases_total"])
    assert alice["sha256"] == hashlib.sha256(backprop_reference.encode()).hexdigest()
    assert alice["device"] == "cpu" and alice["dlverify_version"] == dlverify_version
    assert datetime.datetime.fromisoformat(alice["graded_at"]).tzinfo is not None
    assert frank["points"] == "" and frank["graded_at"] == ""
