"""verdict, questionnaire, assess and demo through `dlverify.cli.main`, in-process.

Grading is replaced by a stand-in on env (the commands' documented hook) except
in the one end-to-end demo test, which runs the real grader on the bundled samples.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from dlverify import paths
from dlverify.cli import Env, main
from dlverify.verdict.cli import demo_plan

from verdict_helpers import SAMPLE_ANSWERS, answers_dict, result_doc


class Run:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


class FakeResult:
    def __init__(self, doc):
        self.doc = doc

    def to_dict(self):
        return self.doc


def run_cli(tmp_path, *argv, stdin="", grade=None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdin=io.StringIO(stdin), stdout=out, stderr=err, cwd=tmp_path)
    if grade is not None:
        env.grade = grade
    code = main(list(argv), env)
    return Run(code, out.getvalue(), err.getvalue())


def fake_grade(calls=None):
    """Passes a submission unless its file name says it is wrong; records the calls."""
    def grade(exercise, path, *, device="auto", progress=None):
        if calls is not None:
            calls.append((exercise, Path(path).name, device))
        status = "failed" if "wrong" in str(path) else "passed"
        return FakeResult(result_doc(exercise, status, passed=None if status == "passed" else 3))
    return grade


@pytest.fixture
def results_dir(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    for doc in (result_doc("backprop_mlp"), result_doc("attention"), result_doc("mixed_precision", "failed", passed=2)):
        (folder / f"{doc['exercise']}.json").write_text(json.dumps(doc))
    return folder


def test_verdict_writes_all_reports(tmp_path, results_dir):
    run = run_cli(tmp_path, "verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "results",
                  "--json", "out/r.json", "--md", "out/r.md", "--html", "out/r.html")
    assert run.code == 0, run.err
    assert "NEARLY QUALIFIED" in run.out and "wrote" in run.out
    data = json.loads((tmp_path / "out" / "r.json").read_text())
    assert data["verdict"] == "NEARLY_QUALIFIED" and data["role"] == "engineer"
    assert (tmp_path / "out" / "r.md").read_text().startswith("# Deep-learning engineer")
    assert "<svg" in (tmp_path / "out" / "r.html").read_text()


def test_verdict_researcher_role(tmp_path, results_dir):
    run = run_cli(tmp_path, "verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "results",
                  "--role", "researcher", "--json", "r.json")
    assert run.code == 0, run.err
    assert json.loads((tmp_path / "r.json").read_text())["role"] == "researcher"


def _one_line_usage(run: Run, *needles: str) -> None:
    assert run.code == 2, (run.out, run.err)
    assert run.err.count("\n") == 1 and "Traceback" not in run.err, run.err
    for needle in needles:
        assert needle in run.err, run.err


def test_verdict_usage_errors_are_one_line(tmp_path, results_dir):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(answers_dict(fundamentals={"cnn": 42})))
    _one_line_usage(run_cli(tmp_path, "verdict", "--answers", "bad.yaml", "--results", "results"),
                    "bad.yaml: fundamentals.cnn: expected an integer from 0 to 10")
    _one_line_usage(run_cli(tmp_path, "verdict", "--answers", "missing.yaml", "--results", "results"),
                    "missing.yaml: no such file")
    (results_dir / "zz.json").write_text("{oops")
    _one_line_usage(run_cli(tmp_path, "verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "results"),
                    "zz.json: not JSON")
    (results_dir / "zz.json").write_text(json.dumps(result_doc("attention") | {"exercise": "knitting"}))
    _one_line_usage(run_cli(tmp_path, "verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "results"),
                    "zz.json: unknown exercise 'knitting'")
    (results_dir / "zz.json").unlink()
    _one_line_usage(run_cli(tmp_path, "verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "results",
                            "--role", "astronaut"), "unknown role; known: engineer, researcher")
    (tmp_path / "afile").write_text("x")
    _one_line_usage(run_cli(tmp_path, "verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "results",
                            "--json", "afile/r.json"), "cannot write")
    (tmp_path / "notes.txt").write_text("x")
    _one_line_usage(run_cli(tmp_path, "verdict", "--answers", str(SAMPLE_ANSWERS), "--results", "nowhere"),
                    "nowhere: no such file or folder")


def _claims_only_report(run: Run, report_file: Path) -> dict:
    assert run.code == 0, run.err
    assert "claims-only verdict, every claim counted at x0.7" in run.out
    report = json.loads(report_file.read_text())
    assert report["verdict"] in ("NEARLY_QUALIFIED", "SIGNIFICANT_GAPS")   # a verdict, on claims alone
    assert report["exercises"] == [] and report["calibration"]["checked"] == 0
    assert report["calibration"]["percent"] is None
    assert report["calibration"]["summary"].startswith("Nothing checked")
    assert report["model"]["unverified_factor"] == 0.7
    assert {s["evidence"] for s in report["skills"]} == {"unverified"}
    return report


@pytest.mark.parametrize("results", [[], ["empty"]], ids=["no --results", "an empty folder"])
def test_verdict_on_claims_alone(tmp_path, results):
    (tmp_path / "empty").mkdir()
    argv = ["verdict", "--answers", str(SAMPLE_ANSWERS), "--json", "r.json"]
    if results:
        argv += ["--results", *results]
    report = _claims_only_report(run_cli(tmp_path, *argv), tmp_path / "r.json")
    # the first action: the exercise whose pass would verify the most of the role's weight
    first = report["roadmap"]["next_action"]
    assert first.startswith("Submit the `backprop_mlp` exercise"), first


def test_assess_on_claims_alone(tmp_path):
    run = run_cli(tmp_path, "assess", "--answers", str(SAMPLE_ANSWERS), "--json", "r.json", grade=fake_grade([]))
    report = _claims_only_report(run, tmp_path / "r.json")
    assert report["roadmap"]["next_action"].startswith("Submit the `backprop_mlp` exercise")


def _submissions(tmp_path, names):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("# a submission\n")
    return folder


def test_assess_grades_submissions_named_after_exercises(tmp_path):
    # cuda_matmul's submission is a .py holding CUDA_SRC: a bare .cu file is not one.
    _submissions(tmp_path, ["backprop_mlp.py", "attention.py", "notes.txt", "cuda_matmul.cu"])
    calls = []
    run = run_cli(tmp_path, "assess", "--answers", str(SAMPLE_ANSWERS), "--submissions", "subs",
                  "--results-out", "graded", "--json", "r.json", "--device", "cpu", grade=fake_grade(calls))
    assert run.code == 0, run.err
    assert sorted(calls) == [("attention", "attention.py", "cpu"), ("backprop_mlp", "backprop_mlp.py", "cpu")]
    assert "ignored notes.txt" in run.out and "cuda_matmul.cu" in run.out
    assert sorted(p.name for p in (tmp_path / "graded").iterdir()) == ["attention.json", "backprop_mlp.json"]
    skills = {s["id"]: s for s in json.loads((tmp_path / "r.json").read_text())["skills"]}
    assert skills["attention"]["evidence"] == "verified" and skills["cuda"]["evidence"] == "unverified"


def test_assess_counts_a_grader_crash_as_unverified(tmp_path):
    _submissions(tmp_path, ["attention.py"])

    def grade(exercise, path, *, device="auto", progress=None):
        raise RuntimeError("sandbox fell over")

    run = run_cli(tmp_path, "assess", "--answers", str(SAMPLE_ANSWERS), "--submissions", "subs",
                  "--json", "r.json", grade=grade)
    assert run.code == 0, run.err
    data = json.loads((tmp_path / "r.json").read_text())
    assert "grader-error:attention" in data["flags"]
    assert all(s["evidence"] != "failed" for s in data["skills"])


def test_assess_usage_errors(tmp_path):
    _one_line_usage(run_cli(tmp_path, "assess", "--answers", str(SAMPLE_ANSWERS), "--submissions", "nowhere"),
                    "--submissions", "no such folder")
    _submissions(tmp_path, ["attention.py", "attention.ipynb"])
    _one_line_usage(run_cli(tmp_path, "assess", "--answers", str(SAMPLE_ANSWERS), "--submissions", "subs",
                            grade=fake_grade()), "two submissions for attention")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("hi")
    _one_line_usage(run_cli(tmp_path, "assess", "--answers", str(SAMPLE_ANSWERS), "--submissions", "empty"),
                    "no file named after an exercise id")


def test_assess_asks_the_questionnaire_when_no_answers_file(tmp_path):
    from test_verdict_questionnaire import script

    _submissions(tmp_path, ["backprop_mlp.py"])
    lines = "\n".join(script(answers_dict())) + "\n"
    run = run_cli(tmp_path, "assess", "--submissions", "subs", "--save", "mine.yaml", "--json", "r.json",
                  stdin=lines, grade=fake_grade())
    assert run.code == 0, run.err
    assert "Question 8 of 8" in run.out and (tmp_path / "mine.yaml").exists()
    assert json.loads((tmp_path / "r.json").read_text())["candidate"]["location"] == "Seattle, WA"
    # input ran out half-way: saved, exit 130, and a message on how to resume
    run = run_cli(tmp_path, "assess", "--submissions", "subs", "--save", "half.yaml",
                  stdin="\n".join(script(answers_dict())[:5]) + "\n", grade=fake_grade())
    assert run.code == 130 and "5 of 42 answers are saved" in run.err


def test_questionnaire_command_end_to_end(tmp_path):
    from test_verdict_questionnaire import script

    run = run_cli(tmp_path, "questionnaire", stdin="\n".join(script(answers_dict())) + "\n")
    assert run.code == 0, run.err
    assert (tmp_path / "dlverify-answers.yaml").exists() and "Next: dlverify assess" in run.out
    again = run_cli(tmp_path, "questionnaire", "--fresh", stdin="")
    assert again.code == 130


def test_demo_plan_points_at_real_pack_files():
    plan = demo_plan()
    assert {s["exercise"] for s in plan["submissions"]} == {"backprop_mlp", "attention", "mixed_precision"}
    for item in plan["submissions"]:
        source = paths.graders_dir() / item["exercise"] / item["file"]
        assert source.is_file(), source
        if "wrong" in item["file"]:
            assert source.read_text().startswith("# WRONG(failed):")


def test_demo_writes_reports_with_a_stand_in_grader(tmp_path):
    calls = []
    run = run_cli(tmp_path, "demo", "--out", "demo", grade=fake_grade(calls))
    assert run.code == 0, run.err
    assert {c[0] for c in calls} == {"backprop_mlp", "attention", "mixed_precision"}
    assert all(c[2] == "cpu" for c in calls)
    out = tmp_path / "demo"
    assert sorted(p.name for p in out.iterdir()) == ["answers.yaml", "report.html", "report.json", "report.md", "results"]
    data = json.loads((out / "report.json").read_text())
    assert "failed-exercise:mixed_precision" in data["flags"]
    assert "over-claimed:mixed-precision" in data["flags"]


@pytest.mark.slow
def test_demo_end_to_end_with_the_real_grader(tmp_path):
    """The README's first command: real grading of the bundled samples on the CPU."""
    run = run_cli(tmp_path, "demo", "--out", "demo")
    assert run.code == 0, run.err + run.out[-2000:]
    data = json.loads((tmp_path / "demo" / "report.json").read_text())
    outcomes = {e["exercise"]: e["outcome"] for e in data["exercises"]}
    assert outcomes == {"attention": "passed", "backprop_mlp": "passed", "mixed_precision": "failed"}
    assert data["verdict"] == "NEARLY_QUALIFIED"
    assert "over-claimed:mixed-precision" in data["flags"]
    for name in ("backprop_mlp", "attention", "mixed_precision"):
        result = json.loads((tmp_path / "demo" / "results" / f"{name}.json").read_text())
        assert result["schema"] == "dlverify.report.result/1"


def test_assess_prints_candidate_text_as_written(tmp_path):
    # A summary carrying an exception's text, and a file name, with rich markup in them: text, never markup.
    _submissions(tmp_path, ["backprop_mlp.py", "notes[red].txt"])

    def grade(exercise, path, *, device="auto", progress=None):
        doc = result_doc(exercise, "failed", passed=0)
        doc["summary"] = "0/6 cases passed; raised: TypeError: [/]() takes no arguments"
        return FakeResult(doc)

    run = run_cli(tmp_path, "assess", "--answers", str(SAMPLE_ANSWERS), "--submissions", "subs",
                  "--device", "cpu", grade=grade)
    assert run.code == 0, run.err
    assert "TypeError: [/]() takes no arguments" in run.out and "ignored notes[red].txt" in run.out


def test_grade_and_verdict_give_one_count_with_not_run_cases_named():
    """grade's summary and the verdict's evidence note count cases the same way."""
    from dlverify.outcome import case_count
    from dlverify.verdict.catalogue import load_catalogue
    from dlverify.verdict.results import parse_result
    from dlverify.verdict.scoring import exercise_evidence

    doc = result_doc("attention", "failed", cases=14, passed=8)
    for case in doc["cases"][-2:]:
        case["status"], case["message"] = "not_run", "bf16 under the Triton interpreter"
    counted = case_count(8, 12, 2)
    assert counted == "8/12 cases passed, 2 not run here"
    doc["summary"] = counted
    evidence = exercise_evidence("attention", parse_result(doc, "r.json"), load_catalogue())
    assert counted in evidence.note, evidence.note


def test_demo_without_out_writes_outside_the_working_tree_and_says_where(tmp_path, monkeypatch):
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    work = tmp_path / "work"
    work.mkdir()
    run = run_cli(work, "demo", grade=fake_grade())
    assert run.code == 0, run.err
    assert list(work.iterdir()) == []
    [out] = list(temp.iterdir())
    assert (out / "report.json").is_file()
    assert f"reports in {out}" in run.out, run.out
