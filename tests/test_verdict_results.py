"""--results: grader JSON read as evidence, and every unusable file refused in one line naming it."""

from __future__ import annotations

import json

import pytest

from dlverify.verdict.results import ResultsError, load_results, parse_result

from verdict_helpers import result_doc


def _write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_folder_and_files_load_one_result_per_exercise(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    _write(folder, "a.json", result_doc("backprop_mlp"))
    _write(folder, "b.json", result_doc("attention", "failed", passed=2))
    _write(folder, "notes.txt", "not a result")            # only *.json in a folder
    single = _write(tmp_path, "mp.json", result_doc("mixed_precision"))
    results = load_results([folder, single])
    assert sorted(results) == ["attention", "backprop_mlp", "mixed_precision"]
    assert results["attention"].outcome == "failed"
    assert results["attention"].first_failure.startswith("case_2 (failed): max abs error")
    assert results["backprop_mlp"].outcome == "passed"


def test_real_grader_result_shape_is_accepted():
    from dlverify.outcome import CaseStatus, Status
    from dlverify.report.result import CaseResult, GradeResult, Throughput

    result = GradeResult(exercise="attention", title="Attention", submission_file="a.py", submission_sha256="ab",
                         status=Status.PASSED, summary="ok", correctness_score=1.0,
                         cases=[CaseResult("one", CaseStatus.PASSED)],
                         throughput=Throughput(device="cpu", indicative=True, score=0.9))
    evidence = parse_result(json.loads(result.to_json()), "r.json")
    assert evidence.outcome == "passed"
    assert evidence.throughput_score is None      # CPU figures are indicative: not counted


@pytest.mark.parametrize("status", ["failed", "rejected", "timeout", "memory", "crashed"])
def test_candidate_failures_are_failed(status):
    assert parse_result(result_doc("attention", status), "r.json").outcome == "failed"


def test_grader_error_and_nothing_run_are_unverified():
    err = parse_result(result_doc("attention", "error"), "r.json")
    assert err.outcome == "unverified" and "grader error" in err.reason
    doc = result_doc("cuda_matmul", "passed", cases=3, not_verified=[{"what": "correctness", "reason": "no CUDA device"}])
    for case in doc["cases"]:
        case["status"] = "not_run"
    cpu = parse_result(doc, "r.json")
    assert cpu.outcome == "unverified" and "no CUDA device" in cpu.reason
    fallback = parse_result(result_doc("cuda_matmul", "not_verified"), "r.json")
    assert fallback.outcome == "unverified" and "no CUDA device here" in fallback.reason


def test_gpu_throughput_counts():
    doc = result_doc("triton_softmax", throughput={"device": "cuda", "indicative": False, "score": 0.5})
    assert parse_result(doc, "r.json").throughput_score == 0.5


def _mutate(**changes):
    doc = result_doc("attention")
    for key, value in changes.items():
        if value is KeyError:
            del doc[key]
        else:
            doc[key] = value
    return doc


BAD = [
    ("not JSON", "{not json", "r.json: not JSON (line 1"),
    ("a list", [1, 2], "r.json: expected a JSON object (a grader result), got list"),
    ("no schema", _mutate(schema=KeyError), "r.json: not a grader result: schema is None, expected 'dlverify.report.result/1'"),
    ("wrong schema", _mutate(schema="dlverify.verdict/1"), "schema is 'dlverify.verdict/1'"),
    ("unknown exercise", _mutate(exercise="quantum_sort"), "r.json: unknown exercise 'quantum_sort'; known: backprop_mlp"),
    ("bad status", _mutate(status="great"), "r.json: status 'great' is not one of passed"),
    ("score out of range", _mutate(correctness_score=1.5), "correctness_score must be a number from 0 to 1, got 1.5"),
    ("score missing", _mutate(correctness_score=KeyError), "correctness_score must be a number from 0 to 1, got None"),
    ("throughput a number", _mutate(throughput=3), "throughput must be null or an object"),
    ("throughput score bad", _mutate(throughput={"score": "fast"}), "throughput.score must be null or a number"),
    ("cases missing", _mutate(cases=KeyError), "cases must be a list"),
    ("case without name", _mutate(cases=[{"status": "passed"}]), "cases[0] must be an object with a name"),
    ("case bad status", _mutate(cases=[{"name": "x", "status": "meh"}]), "cases[0] (x): status 'meh' is not a case status"),
    ("not_verified bad", _mutate(not_verified=[{"what": 1}]), "not_verified must be a list of {what, reason} objects"),
]


@pytest.mark.parametrize("what,doc,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_result_file_is_one_line_naming_it(tmp_path, what, doc, expected):
    path = _write(tmp_path, "r.json", doc)
    with pytest.raises(ResultsError) as info:
        load_results([path])
    message = str(info.value)
    assert message.startswith(str(tmp_path)) and expected.split("r.json: ")[-1] in message, message
    assert "\n" not in message


def test_two_results_for_one_exercise_empty_folder_and_missing_path(tmp_path):
    a = _write(tmp_path, "a.json", result_doc("attention"))
    b = _write(tmp_path, "b.json", result_doc("attention", "failed"))
    with pytest.raises(ResultsError, match=r"b.json: a second result for 'attention' \(the first is .*a.json\)"):
        load_results([a, b])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_results([empty]) == {}   # no results: a claims-only verdict
    with pytest.raises(ResultsError, match="nope: no such file or folder"):
        load_results([tmp_path / "nope"])
