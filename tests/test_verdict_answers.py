"""The answers file: the good shapes load (YAML and JSON), and every bad one is
refused with the field named and what was expected."""

from __future__ import annotations

import json

import pytest
import yaml

from dlverify.verdict.answers import FIELD_PATHS, QUESTIONS, Answers, AnswersError, load_answers, validate
from dlverify.verdict.datafile import DataFileError

from verdict_helpers import SAMPLE_ANSWERS, answers_dict


def test_issue_example_shape_loads_from_yaml_and_json(tmp_path):
    data = answers_dict()
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "a.json").write_text(json.dumps(data))
    from_yaml = load_answers(tmp_path / "a.yaml")
    from_json = load_answers(tmp_path / "a.json")
    assert from_yaml == from_json
    assert from_yaml.get("fundamentals.transformers") == data["fundamentals"]["transformers"]
    assert from_yaml.get("advanced.gnn") == "none"
    assert len(FIELD_PATHS) == sum(len(q.fields) for q in QUESTIONS) == 42
    assert [q.section for q in QUESTIONS] == ["education", "fundamentals", "frameworks", "advanced",
                                             "training", "math", "production", "goals"]


ISSUE_EXAMPLE = """\
education: {degree: master, major: Computer Science, coursework: [linear algebra, machine learning]}
fundamentals: {feedforward_backprop: 8, cnn: 7, rnn: 5, transformers: 9, projects: "..."}
frameworks: {pytorch: 9, tensorflow: 4, jax: 2, custom_layers: true, debug_training: true, optimize_performance: true, deploy_production: false, most_complex: "..."}
advanced: {gans: implemented, vaes: studied, diffusion: trained, gnn: none, meta_learning: none}
training: {optimizers: 8, regularization: 8, hyperparameter_tuning: 7, debugging: 7, stability: 6}
math: {linear_algebra: 8, calculus: 8, probability: 7, information_theory: 5, can_derive_backprop: true, can_explain_gradient_descent: true}
production: {cuda: 4, distributed: 5, model_optimization: 6, deployment: 5, mlops: 4}
goals: {location: Seattle, timeline: 6 months, target_area: NLP, current_role: ML Engineer, years_experience: 3}
"""


def test_the_issue_example_file_loads(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text(ISSUE_EXAMPLE)
    a = load_answers(path)
    assert a.get("frameworks.deploy_production") is False
    assert a.get("education.coursework") == ["linear algebra", "machine learning"]
    assert a.get("goals.years_experience") == 3


def test_values_are_normalised():
    data = answers_dict(education={"degree": " Master "}, advanced={"gans": "TRAINED"},
                        goals={"location": "  Seattle  "})
    a = Answers.from_dict(data)
    assert a.get("education.degree") == "master"
    assert a.get("advanced.gans") == "trained"
    assert a.get("goals.location") == "Seattle"


def _problems(data) -> list[str]:
    with pytest.raises(AnswersError) as info:
        validate(data)
    return info.value.problems


def _without(section: str, name: str | None = None):
    data = answers_dict()
    if name is None:
        del data[section]
    else:
        del data[section][name]
    return data


BAD = [
    # (what is wrong, the answers, text the first problem must contain)
    ("top level is a list", [1, 2], "expected a mapping of the eight sections"),
    ("top level is empty", None, "expected a mapping of the eight sections"),
    ("missing section", _without("math"), "math: missing section"),
    ("unknown section", {**answers_dict(), "hobbies": {}}, "hobbies: unknown section"),
    ("misspelt section", {**_without("production"), "prodution": {}}, "prodution: unknown section (did you mean 'production'?)"),
    ("section not a mapping", {**answers_dict(), "training": [1, 2]}, "training: expected a mapping of fields"),
    ("missing field", _without("fundamentals", "cnn"), "fundamentals.cnn: missing (expected an integer from 0 to 10"),
    ("unknown field", answers_dict(frameworks={"keras": 3}), "frameworks.keras: unknown field"),
    ("misspelt field", answers_dict(math={"calculas": 3}), "math.calculas: unknown field (did you mean 'calculus'?)"),
    ("rating above 10", answers_dict(fundamentals={"cnn": 11}), "fundamentals.cnn: expected an integer from 0 to 10 (0 = none), got 11 (out of range)"),
    ("rating below 0", answers_dict(production={"cuda": -1}), "production.cuda: expected an integer from 0 to 10 (0 = none), got -1 (out of range)"),
    ("rating a float", answers_dict(training={"stability": 6.5}), "training.stability: expected an integer from 0 to 10 (0 = none), got number 6.5"),
    ("rating a string", answers_dict(frameworks={"pytorch": "9"}), "frameworks.pytorch: expected an integer from 0 to 10 (0 = none), got string '9'"),
    ("rating a boolean", answers_dict(math={"calculus": True}), "math.calculus: expected an integer from 0 to 10 (0 = none), got boolean True"),
    ("rating null", answers_dict(math={"probability": None}), "math.probability: expected an integer from 0 to 10 (0 = none), got nothing (null)"),
    ("unknown level", answers_dict(advanced={"diffusion": "expert"}), "advanced.diffusion: expected one of none, studied, implemented, trained, got string 'expert'"),
    ("level a number", answers_dict(advanced={"gnn": 3}), "advanced.gnn: expected one of none, studied, implemented, trained, got integer 3"),
    ("unknown degree", answers_dict(education={"degree": "MBA"}), "education.degree: expected one of none, bachelor, master, phd, got string 'MBA'"),
    ("boolean as a string", answers_dict(frameworks={"custom_layers": "sometimes"}), "frameworks.custom_layers: expected true or false, got string 'sometimes'"),
    ("boolean as a number", answers_dict(math={"can_derive_backprop": 1}), "math.can_derive_backprop: expected true or false, got integer 1"),
    ("coursework not a list", answers_dict(education={"coursework": "linear algebra"}), "education.coursework: expected a list of strings, got string"),
    ("coursework of numbers", answers_dict(education={"coursework": [1, 2]}), "education.coursework: expected a list of strings, got list"),
    ("text not a string", answers_dict(fundamentals={"projects": ["a", "b"]}), "fundamentals.projects: expected a string (may be empty), got list"),
    ("required text empty", answers_dict(goals={"location": "  "}), "goals.location: expected a non-empty string, got an empty string"),
    ("years negative", answers_dict(goals={"years_experience": -2}), "goals.years_experience: expected a number of years from 0 to 60, got -2 (out of range)"),
    ("years absurd", answers_dict(goals={"years_experience": 400}), "goals.years_experience: expected a number of years from 0 to 60, got 400 (out of range)"),
    ("years as text", answers_dict(goals={"years_experience": "three"}), "goals.years_experience: expected a number of years from 0 to 60, got string 'three'"),
    ("years NaN", answers_dict(goals={"years_experience": float("nan")}), "goals.years_experience: expected a number of years from 0 to 60, got number nan"),
]


@pytest.mark.parametrize("what,data,expected", BAD, ids=[b[0] for b in BAD])
def test_every_bad_answer_names_the_field(what, data, expected):
    problems = _problems(data)
    assert expected in problems[0], problems


def test_every_problem_is_reported_not_just_the_first():
    data = answers_dict(fundamentals={"cnn": 11, "rnn": "x"}, goals={"location": ""})
    problems = _problems(data)
    assert [p.split(":")[0] for p in problems] == ["fundamentals.cnn", "fundamentals.rnn", "goals.location"]
    message = str(AnswersError(problems, "a.yaml"))
    assert message.startswith("a.yaml: fundamentals.cnn: ") and "(and 2 more: " in message
    assert "\n" not in message


def test_partial_answers_allow_missing_but_not_wrong():
    assert validate({"education": {"degree": "phd"}}, partial=True) == {"education": {"degree": "phd"}}
    assert validate(None, partial=True) == {}
    with pytest.raises(AnswersError, match="education.degree"):
        validate({"education": {"degree": "wizard"}}, partial=True)


@pytest.mark.parametrize("text,expected", [
    ("education: {degree: master}\neducation: {degree: phd}\n", "duplicate key 'education' (first on line 1)"),
    ("fundamentals:\n  cnn: 2\n  cnn: 9\n", "line 3: duplicate key 'cnn'"),
    ("education: {degree: master\n", "not valid YAML (line 2"),
    ("\tfoo: 1\n", "not valid YAML"),
])
def test_unreadable_yaml_is_one_line_with_the_file(tmp_path, text, expected):
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    with pytest.raises(DataFileError) as info:
        load_answers(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_json_missing_file_folder_and_binary(tmp_path):
    bad = tmp_path / "answers.json"
    bad.write_text('{"education": {"degree": "master",}}')
    with pytest.raises(DataFileError, match=r"answers.json: not valid JSON \(line 1"):
        load_answers(bad)
    with pytest.raises(DataFileError, match="no such file"):
        load_answers(tmp_path / "nope.yaml")
    with pytest.raises(DataFileError, match="is a folder"):
        load_answers(tmp_path)
    binary = tmp_path / "answers.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataFileError, match="not UTF-8"):
        load_answers(binary)


def test_sample_answers_file_is_valid():
    assert load_answers(SAMPLE_ANSWERS).get("goals.location") == "Seattle, WA"
