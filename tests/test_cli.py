"""The CLI, in-process: listing, starting, grading and its exit codes, bad input as one clear line."""

from __future__ import annotations

import json

import nbformat

from dlverify.packs.registry import EXERCISE_IDS


def test_exercises_lists_every_pack(cli):
    run = cli("exercises")
    assert run.code == 0
    for exercise_id in EXERCISE_IDS:
        assert exercise_id in run.out
    assert "needs a GPU" in run.out  # cuda_matmul says so


def test_start_writes_starter_and_readme(cli, tmp_path):
    run = cli("start", "backprop_mlp", "--dir", "work")
    assert run.code == 0, run.err
    assert (tmp_path / "work" / "README.md").read_text().startswith("#")
    assert "def mlp_loss_and_grads" in (tmp_path / "work" / "solution.py").read_text()
    (tmp_path / "work" / "solution.py").write_text("# my work\n")
    again = cli("start", "backprop_mlp", "--dir", "work")
    assert again.code == 2 and "already exists" in again.err
    assert (tmp_path / "work" / "solution.py").read_text() == "# my work\n"


def test_start_notebook_is_a_valid_notebook(cli, tmp_path):
    run = cli("start", "attention", "--dir", "nb", "--notebook")
    assert run.code == 0, run.err
    nb = nbformat.read(str(tmp_path / "nb" / "solution.ipynb"), as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def attention" in code


def test_grade_reference_passes_and_writes_json(cli, tmp_path, backprop_reference, write):
    write("ref.py", backprop_reference)
    # Both paths relative: read from the command's working folder (not the test process's), like --json.
    run = cli("grade", "backprop_mlp", "ref.py", "--json", "out/result.json", "--no-throughput")
    assert run.code == 0, run.out + run.err
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    assert data["status"] == "passed" and data["exercise"] == "backprop_mlp"
    assert "PASSED" in run.out
    # A pass shows no error figures (a relative error where the reference is near zero is noise).
    assert "rel err" not in run.out and "e+" not in run.out and "e-" not in run.out, run.out


def test_grade_wrong_solution_exits_1(cli, write):
    sub = write("wrong.py", "def mlp_loss_and_grads(params, x, y):\n    return 0.0, {k: v * 0 for k, v in params.items()}\n")
    run = cli("grade", "backprop_mlp", str(sub), "--no-throughput")
    assert run.code == 1
    assert "FAILED" in run.out
    # The figure that decided a failed case: its worst element against the tolerance.
    assert "outside atol=" in run.out and "worst at" in run.out and "rel err" not in run.out, run.out


def test_unknown_exercise_is_a_usage_error(cli, write):
    sub = write("a.py", "x = 1\n")
    run = cli("grade", "no_such_exercise", str(sub))
    assert run.code == 2
    assert run.err.count("\n") == 1 and "unknown exercise 'no_such_exercise'" in run.err
    assert "Traceback" not in run.err


def test_missing_file_is_a_usage_error(cli):
    run = cli("grade", "backprop_mlp", "nowhere.py")
    assert run.code == 2 and "no such file" in run.err and run.err.count("\n") == 1


def test_unreadable_notebook_is_a_usage_error(cli, write):
    sub = write("broken.ipynb", "{ this is not json")
    run = cli("grade", "backprop_mlp", str(sub))
    assert run.code == 2 and "not a readable notebook" in run.err and run.err.count("\n") == 1


def test_wrong_suffix_is_a_usage_error(cli, write):
    sub = write("solution.txt", "x = 1\n")
    run = cli("grade", "backprop_mlp", str(sub))
    assert run.code == 2 and ".py or .ipynb" in run.err


def test_bad_device_choice_is_a_usage_error(cli, write):
    sub = write("a.py", "x = 1\n")
    run = cli("grade", "backprop_mlp", str(sub), "--device", "tpu")
    assert run.code == 2 and "invalid choice" in run.err


def test_cuda_without_gpu_is_a_usage_error(cli, write):
    import torch

    if torch.cuda.is_available():
        return
    sub = write("a.py", "x = 1\n")
    run = cli("grade", "backprop_mlp", str(sub), "--device", "cuda")
    assert run.code == 2 and "no CUDA device" in run.err


def test_no_command_prints_help_and_exits_2(cli):
    run = cli()
    assert run.code == 2 and "usage" in run.out.lower()


def test_candidate_text_is_printed_as_written_and_the_summary_names_the_error(cli, write, tmp_path):
    # An exception message with rich markup in it must be text: `[/]` once ended `grade` with exit 3.
    sub = write("evil[b]x[_b].py", "def mlp_loss_and_grads(params, x, y):\n    raise ValueError('boom [bold]x[/]')\n")
    run = cli("grade", "backprop_mlp", str(sub), "--no-throughput", "--json", "r.json")
    assert run.code == 1, run.out + run.err
    assert "boom [bold]x[/]" in run.out and "evil[b]x[_b].py" in run.out
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary.endswith("raised: ValueError: boom [bold]x[/]"), summary  # not the traceback's File line


def test_a_notebook_without_cell_ids_reads_without_warnings(write):
    import warnings

    from dlverify.submission.read import read_submission

    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}]}
    path = write("old.ipynb", json.dumps(nb))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nbformat's MissingIDFieldWarning would raise here
        assert "x = 1" in read_submission(path).source


def _backticked(text: str) -> set[str]:
    import re

    return set(re.findall(r"`([^`\s]+\.(?:py|ipynb|toml|md))`", text))


def test_start_handout_is_self_contained(cli, tmp_path):
    """The README names only files the candidate has, and lists every rule the manifest holds."""
    from dlverify.packs.registry import get_exercise

    for notebook in (False, True):
        for exercise_id in EXERCISE_IDS:
            folder = tmp_path / f"{exercise_id}-{notebook}"
            run = cli("start", exercise_id, "--dir", str(folder), *(["--notebook"] if notebook else []))
            assert run.code == 0, run.err
            readme = (folder / "README.md").read_text()
            have = {p.name for p in folder.iterdir()}
            named = {name for name in _backticked(readme) if "/" not in name}
            # One README for both starters: it names both, and the one written is there.
            assert named - {"solution.py", "solution.ipynb"} <= have, (exercise_id, named - have)
            assert ("solution.ipynb" if notebook else "solution.py") in have
            assert "exercise.toml" not in readme and "starter.py" not in readme
            rules = get_exercise(exercise_id).rules
            for name in rules.forbidden_ops + rules.forbidden_imports + (rules.allowed_ops or ()):
                assert f"`{name}`" in readme, (exercise_id, name)
            if notebook:
                nb = nbformat.read(str(folder / "solution.ipynb"), as_version=4)
                assert nb.cells[0].source == readme


def test_start_twice_with_identical_files_is_no_conflict(cli, tmp_path):
    assert cli("start", "attention", "--dir", "w").code == 0
    again = cli("start", "attention", "--dir", "w", "--notebook")
    assert again.code == 0, again.err
    assert (tmp_path / "w" / "solution.ipynb").is_file() and (tmp_path / "w" / "solution.py").is_file()
    (tmp_path / "w" / "README.md").write_text("my notes\n")
    changed = cli("start", "attention", "--dir", "w", "--notebook")
    assert changed.code == 2 and "README.md already exists" in changed.err


def test_grade_without_a_terminal_prints_whole_unwrapped_lines(cli, write):
    """In a CI log (no TTY, 80 columns) every case is one line, its message whole, no word broken."""
    message = "a rather long message that explains exactly what went wrong in the candidate's code here"
    sub = write("long.py", f"def mlp_loss_and_grads(params, x, y):\n    raise ValueError({message!r})\n")
    run = cli("grade", "backprop_mlp", str(sub), "--no-throughput")
    assert run.code == 1
    case_lines = [line for line in run.out.splitlines() if "failed" in line and "softmax_regression" in line]
    assert case_lines and all(message in line for line in case_lines), run.out
    assert "candidate's code here" in run.out.splitlines()[0]  # the summary, whole


def test_grade_batch_rows_keep_the_whole_summary(cli, tmp_path):
    message = "x" * 60 + " and a long tail of words that a shortened summary would cut off mid-value 123456789"
    hand_in = tmp_path / "hand-in"
    hand_in.mkdir()
    (hand_in / "alice.py").write_text(f"def mlp_loss_and_grads(params, x, y):\n    raise ValueError({message!r})\n")
    run = cli("grade-batch", "backprop_mlp", str(hand_in), "--out", str(tmp_path / "out"), "--no-throughput")
    assert run.code == 1, run.err
    assert any("alice" in line and message in line for line in run.out.splitlines()), run.out


def test_docker_sandbox_without_an_engine_is_a_usage_error(cli, write, monkeypatch):
    from dlverify.isolation import docker

    monkeypatch.setattr(docker, "docker_available", lambda timeout=5.0: False)
    sub = write("a.py", "def mlp_loss_and_grads(params, x, y):\n    pass\n")
    run = cli("grade", "backprop_mlp", str(sub), "--sandbox", "docker", "--no-throughput")
    assert run.code == 2, run.out + run.err
    assert run.err.count("\n") == 1 and "no Docker engine answers" in run.err and "fault" not in run.out + run.err


def test_grade_progress_counts_cases_by_name(write, backprop_reference):
    from dlverify.engine import grade

    seen: list[str] = []
    result = grade("backprop_mlp", write("ref.py", backprop_reference), device="cpu", throughput=False,
                   progress=seen.append)
    total = len(result.cases)
    names = [c.name for c in result.cases]
    assert f"case 1/{total}: {names[0]}" in seen and f"case {total}/{total}: {names[-1]}" in seen, seen


def test_every_argument_has_help(cli):
    for command in ("start", "grade", "validate", "grade-batch"):
        run = cli(command, "--help")
        assert run.code == 0
    from dlverify.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"dlverify {name}: {action.dest} has no help text"
