"""The exports: Gradescope's results.json checked against its schema, JUnit XML read back by an
XML parser and held to the JUnit schema's rules, and the cohort CSV."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from dlverify.packs import registry
from dlverify.gradebook.exports.gradescope import gradescope_results
from dlverify.gradebook.exports.junit import junit_xml
from dlverify.packs.loading import load_pack
from gradebook_helpers import make_result

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs" / "gradescope" / "results.schema.json")
                    .read_text())


def _valid_gradescope(document: dict) -> dict:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    return document


def _hidden_cases(exercise: str, device: str = "cpu") -> int:
    return len(load_pack(registry.get_exercise(exercise)).check_cases(device))


# --- Gradescope ------------------------------------------------------------------------------

def test_gradescope_has_a_test_per_hidden_case_worth_a_point_and_the_total_score():
    result = make_result(cases=["passed", "failed", "passed", "timeout", "not_run"])
    document = _valid_gradescope(gradescope_results([result], visibility="after_due_date"))
    tests = document["tests"]
    assert [t["name"] for t in tests] == [c["name"] for c in result["cases"]]
    assert [t["status"] for t in tests] == ["passed", "failed", "passed", "failed", "failed"]
    assert [t["max_score"] for t in tests] == [1, 1, 1, 1, 0]   # not run here: counts neither way
    assert document["score"] == 2 == sum(t["score"] for t in tests)
    assert {t["visibility"] for t in tests} == {"after_due_date"}
    assert "timeout" in tests[3]["output"] and result["cases"][3]["message"] in tests[3]["output"]
    assert document["execution_time"] >= result["process"]["wall_seconds"]
    assert result["summary"] in document["output"]


@pytest.mark.parametrize("status", ["rejected", "failed", "error"])
def test_a_submission_on_which_nothing_ran_is_out_of_the_exercise_s_full_marks(status):
    document = _valid_gradescope(gradescope_results([make_result(cases=[], status=status, summary="why")]))
    [test] = document["tests"]
    assert (test["score"], test["max_score"]) == (0, _hidden_cases("backprop_mlp"))
    assert "why" in test["output"]
    if status == "error":   # the grader's fault is said to be the grader's
        assert "not your submission" in test["output"] and "not your fault" in document["output"]


def test_several_exercises_are_one_submission_with_their_tests_named_apart():
    two = [make_result("backprop_mlp", ["passed"]), make_result("attention", ["failed", "passed"])]
    document = _valid_gradescope(gradescope_results(two))
    assert [t["name"] for t in document["tests"]] == ["backprop_mlp: case_0", "attention: case_0",
                                                      "attention: case_1"]
    assert document["score"] == 2
    with pytest.raises(ValueError, match="one submission"):
        gradescope_results([make_result(), make_result()])


def test_the_schema_refuses_what_gradescope_would_not_read():
    document = gradescope_results([make_result()])
    for broken in ({**document, "visibility": "sometimes"}, {**document, "scroe": 1},
                   {**document, "tests": [{**document["tests"][0], "status": "ok"}]}):
        with pytest.raises(jsonschema.ValidationError):
            _valid_gradescope(broken)


# --- JUnit ------------------------------------------------------------------------------------

# The JUnit schema as Jenkins and most CI readers take it (junit-10.xsd): element -> (required
# attributes, optional attributes, children).
JUNIT = {
    "testsuites": ({"tests"}, {"name", "time", "failures", "errors", "skipped", "disabled"}, {"testsuite"}),
    "testsuite": ({"name", "tests"}, {"failures", "errors", "skipped", "disabled", "time", "timestamp", "hostname",
                                      "id", "package", "file"},
                  {"properties", "testcase", "system-out", "system-err"}),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, set(), set()),
    "testcase": ({"name"}, {"classname", "time", "assertions", "status", "file", "line"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": (set(), {"message", "type"}, set()),
    "error": (set(), {"message", "type"}, set()),
    "skipped": (set(), {"message"}, set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}


def _check_junit(element: ET.Element) -> None:
    required, optional, children = JUNIT[element.tag]
    assert required <= set(element.attrib) <= required | optional, (element.tag, element.attrib)
    for key in ("tests", "failures", "errors", "skipped"):
        if key in element.attrib:
            assert int(element.attrib[key]) >= 0
    if "time" in element.attrib:
        assert float(element.attrib["time"]) >= 0
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        _check_junit(child)


def _parsed(data: bytes) -> ET.Element:
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(data)
    _check_junit(root)
    return root


def test_junit_maps_the_candidate_s_failures_the_grader_s_errors_and_cases_not_run():
    result = make_result(cases=["passed", "failed", "rejected", "timeout", "memory", "crashed", "not_run"])
    root = _parsed(junit_xml([("alice/backprop_mlp", result)]))
    [suite] = root
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["name"] for c in result["cases"]]
    kinds = [next((child.tag for child in c if child.tag in ("failure", "error", "skipped")), "ok") for c in cases]
    assert kinds == ["ok", "failure", "failure", "failure", "failure", "failure", "skipped"]
    assert [c.find("failure").get("type") for c in cases[1:6]] == ["failed", "rejected", "timeout", "memory",
                                                                   "crashed"]
    assert [float(c.get("time")) for c in cases] == [case["seconds"] for case in result["cases"]]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("7", "5", "0", "1")
    assert suite.get("timestamp") == "2026-01-05T10:00:00"
    assert root.get("tests") == "7" and root.get("failures") == "5"

    fault = _parsed(junit_xml([("bob", make_result(cases=[], status="error", summary="sandbox unavailable"))]))
    [case] = fault.iter("testcase")
    assert case.find("error") is not None and "sandbox unavailable" in case.find("error").text
    assert fault.get("errors") == "1" and fault.get("failures") == "0"


def test_junit_carries_any_text_a_candidate_can_make_and_obeys_none_of_it():
    nasty = "boom\x1b[2J\x00\x07 ]]></failure><pwn/> \ufffe\u202e end\nsecond line"
    result = make_result(cases=["failed"], messages={0: nasty})
    root = _parsed(junit_xml([("m\x1ballory", result)]))
    failure = next(root.iter("failure"))
    assert "<pwn/>" in failure.text and "\\x1b" in failure.text and "\\u202e" in failure.text
    assert "\x1b" not in failure.text and "\x00" not in failure.text and "second line" in failure.text
    assert next(root.iter("testsuite")).get("name") == "m\\x1ballory"
    assert not list(root.iter("pwn"))


# --- the cohort CSV -----------------------------------------------------------------------------

def test_the_csv_never_lets_a_spreadsheet_run_a_candidate_s_name(tmp_path):
    from types import SimpleNamespace

    from dlverify.gradebook.exports.table import cohort_rows, write_csv
    from dlverify.gradebook.queries import CandidateSummary

    attempt = SimpleNamespace(status="passed", correctness_score=2 / 3)
    people = [CandidateSummary("=HYPERLINK(\"http://x\")", 1, {"backprop_mlp": attempt}),
              CandidateSummary("grader-error", 1, {"backprop_mlp": SimpleNamespace(status="error",
                                                                                   correctness_score=0.0)})]
    header, rows = cohort_rows(people, ["backprop_mlp", "attention"], with_status=True)
    handle = io.StringIO()
    write_csv(handle, header, rows)
    lines = handle.getvalue().splitlines()
    assert lines[0] == "candidate,backprop_mlp,backprop_mlp_status,attention,attention_status,verdict,match_percent"
    assert lines[1].startswith("\"'=HYPERLINK(") and ",66.7,passed,,,," in lines[1]
    assert lines[2] == "grader-error,,error,,,,"   # a grader fault is no score, and says so
