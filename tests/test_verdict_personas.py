"""Golden personas: answers + synthetic grader results -> expected band, flags and top gaps.

One persona per verdict band, plus the over-claimer whose claims fail their
exercises, the under-claimer whose exercises pass, the strong self-report that
the verification gate holds back, a grader error that must not count against
anyone, and the researcher profile. Results are synthetic grader dicts (no
grading here), so this runs in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dlverify.verdict.answers import Answers
from dlverify.verdict.engine import build_report
from dlverify.verdict.results import results_from_dicts

from verdict_helpers import answers_dict, flat_ratings, result_doc

ALL = ["backprop_mlp", "attention", "mixed_precision", "triton_softmax", "cuda_matmul"]
CPU = ["backprop_mlp", "attention", "mixed_precision"]
GPU_FAST = {"device": "cuda", "indicative": False, "score": 0.8}
STRONG_TEXT = {
    "fundamentals": {"projects": "Published a NeurIPS workshop paper on efficient attention; implemented ResNet, "
                                 "a GPT and DDPM from scratch with full training runs."},
    "frameworks": {"most_complex": "Maintainer of an open-source PyTorch library for long-context transformers "
                                   "with custom Triton kernels and FSDP training."},
}
EMPTY_TEXT = {"fundamentals": {"projects": ""}, "frameworks": {"most_complex": ""}}


def merge(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        for section, fields in part.items():
            out.setdefault(section, {}).update(fields)
    return out


@dataclass
class Persona:
    name: str
    overrides: dict
    results: list[dict]
    band: str
    flags: list[str]
    top_gaps: list[str]                     # the three largest weighted gaps, in order
    role: str = "engineer"
    match: tuple[float, float] = (0, 100)   # the band's range is implied; this pins it tighter
    extra: dict = field(default_factory=dict)


PERSONAS = [
    Persona(
        "qualified: master's, strong claims, every exercise passed on a GPU",
        merge(flat_ratings(9, "trained", True), STRONG_TEXT,
              {"education": {"degree": "master"}, "goals": {"years_experience": 6, "location": "San Francisco"}}),
        [result_doc(e, throughput=GPU_FAST if e in ("triton_softmax", "cuda_matmul") else None) for e in ALL],
        "QUALIFIED_NOW", [], ["portfolio", "distributed-training", "mathematics"], match=(80, 84),
    ),
    Persona(
        "nearly: the demo candidate with all three CPU exercises passed",
        {}, [result_doc(e) for e in CPU],
        "NEARLY_QUALIFIED", [], ["publications-and-open-source", "triton", "distributed-training"], match=(60, 68),
    ),
    Persona(
        "gate: a PhD with perfect claims whose attention exercise is missing",
        merge(flat_ratings(10, "trained", True), STRONG_TEXT,
              {"education": {"degree": "phd"}, "goals": {"years_experience": 9}}),
        [result_doc("backprop_mlp"), result_doc("mixed_precision"), result_doc("triton_softmax")],
        "NEARLY_QUALIFIED", ["verification-gate", "must-verify-missing:attention"],
        ["portfolio", "attention", "distributed-training"], match=(75, 90),
        extra={"verdict_without_gate": "QUALIFIED_NOW"},
    ),
    Persona(
        "significant: bachelor's, modest claims, backprop passed, attention failed",
        merge(flat_ratings(3, "studied", False), {"education": {"degree": "bachelor"}, "goals": {"years_experience": 1}}),
        [result_doc("backprop_mlp"), result_doc("attention", "failed", passed=2)],
        "SIGNIFICANT_GAPS",
        # attention and pytorch: claimed 3/10, the failed exercise shows 1/10 (within the 2.5-point
        # tolerance, but a failure is not a near miss: over-claimed, issue 14.8)
        ["must-verify-missing:attention", "must-verify-missing:pytorch", "over-claimed:attention",
         "over-claimed:pytorch", "under-claimed:backpropagation", "under-claimed:mathematics",
         "failed-exercise:attention"],
        ["pytorch", "attention", "training-loops"], match=(25, 40),
    ),
    Persona(
        "not viable: no degree, no experience, nothing built",
        merge(flat_ratings(1, "none", False), EMPTY_TEXT,
              {"education": {"degree": "none"}, "goals": {"years_experience": 0}}),
        [],
        "NOT_CURRENTLY_VIABLE",
        ["must-verify-missing:backpropagation", "must-verify-missing:attention", "must-verify-missing:pytorch"],
        ["pytorch", "backpropagation", "portfolio"], match=(0, 10),
    ),
    Persona(
        "over-claimer: nines everywhere, every exercise failed",
        merge(flat_ratings(9, "trained", True), {"education": {"degree": "master"}, "goals": {"years_experience": 4}}),
        [result_doc(e, "failed", passed=1) for e in CPU],
        "SIGNIFICANT_GAPS",
        ["must-verify-missing:backpropagation", "must-verify-missing:attention", "must-verify-missing:pytorch",
         "over-claimed:backpropagation", "over-claimed:attention", "over-claimed:pytorch",
         "over-claimed:training-loops", "over-claimed:numerical-stability", "over-claimed:mixed-precision",
         "over-claimed:mathematics",
         "failed-exercise:attention", "failed-exercise:backprop_mlp", "failed-exercise:mixed_precision"],
        ["mathematics", "backpropagation", "attention"], match=(40, 50),
    ),
    Persona(
        "under-claimer: fours everywhere, every exercise passed",
        merge(flat_ratings(4, "studied", False), {"education": {"degree": "master"}, "goals": {"years_experience": 2}}),
        [result_doc(e) for e in CPU + ["triton_softmax"]],
        "NEARLY_QUALIFIED",
        ["under-claimed:backpropagation", "under-claimed:attention", "under-claimed:pytorch",
         "under-claimed:training-loops", "under-claimed:numerical-stability", "under-claimed:mixed-precision",
         "under-claimed:mathematics", "under-claimed:triton"],
        ["publications-and-open-source", "distributed-training", "generative-models"], match=(60, 70),
    ),
    Persona(
        "cpu host: the qualified candidate's GPU packs could not run here",
        merge(flat_ratings(9, "trained", True), STRONG_TEXT,
              {"education": {"degree": "master"}, "goals": {"years_experience": 6, "location": "San Francisco"}}),
        [result_doc(e) for e in CPU] + [result_doc("triton_softmax"), result_doc("cuda_matmul", "not_verified")],
        "QUALIFIED_NOW", ["not-checkable-here:cuda_matmul"], ["portfolio", "distributed-training", "mathematics"],
        match=(80, 84),
    ),
    Persona(
        "grader error: the demo candidate whose gradings all errored",
        {}, [result_doc(e, "error") for e in CPU],
        "NEARLY_QUALIFIED",
        ["must-verify-missing:backpropagation", "must-verify-missing:attention", "must-verify-missing:pytorch",
         "grader-error:attention", "grader-error:backprop_mlp", "grader-error:mixed_precision"],
        ["mathematics", "pytorch", "publications-and-open-source"], match=(50, 60),
    ),
    Persona(
        # backprop_mlp's pass verifies the mathematics a researcher profile weighs most: qualified now
        "researcher: a PhD with good claims, CPU exercises passed",
        merge(flat_ratings(8, "implemented", True), STRONG_TEXT,
              {"education": {"degree": "phd"}, "goals": {"years_experience": 5}}),
        [result_doc(e) for e in CPU],
        "QUALIFIED_NOW", [], ["publications", "mathematics", "portfolio"], role="researcher", match=(75, 78),
    ),
]


def _report(p: Persona) -> dict:
    answers = Answers.from_dict(answers_dict(**p.overrides))
    results = results_from_dicts([(f"{r['exercise']}.json", r) for r in p.results])
    return build_report(answers, results, p.role)


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.name.split(":")[0] for p in PERSONAS])
def test_golden_persona(persona):
    report = _report(persona)
    assert report["verdict"] == persona.band, report["match_percent"]
    assert persona.match[0] <= report["match_percent"] <= persona.match[1]
    assert report["flags"] == persona.flags
    assert [g["id"] for g in report["top_gaps"][:3]] == persona.top_gaps
    for key, value in persona.extra.items():
        assert report["gate"][key] == value


def test_one_persona_per_band():
    assert {p.band for p in PERSONAS} == {"QUALIFIED_NOW", "NEARLY_QUALIFIED", "SIGNIFICANT_GAPS", "NOT_CURRENTLY_VIABLE"}


def _by(prefix: str) -> dict:
    return _report(next(p for p in PERSONAS if p.name.startswith(prefix)))


def test_over_claimer_is_capped_and_badly_calibrated():
    report = _by("over-claimer")
    skills = {s["id"]: s for s in report["skills"]}
    for sid in ("backpropagation", "attention", "pytorch", "mixed-precision"):
        assert skills[sid]["evidence"] == "failed"
        assert skills[sid]["claimed"] >= 0.9
        assert skills[sid]["effective"] <= 0.3           # the cap, whatever the claim
    assert report["calibration"]["percent"] < 30 and report["calibration"]["bias"] > 0.5
    # evidence first: the roadmap starts by fixing what failed
    assert report["roadmap"]["next_30_days"][0].startswith("Fix your `")


def test_under_claimer_is_lifted_by_passes():
    report = _by("under-claimer")
    skills = {s["id"]: s for s in report["skills"]}
    for sid in ("backpropagation", "attention", "pytorch", "triton"):
        assert skills[sid]["evidence"] == "verified"
        assert skills[sid]["claimed"] < 0.5 < 0.8 <= skills[sid]["effective"]
    assert report["calibration"]["bias"] < 0
    unverified = skills["cnn"]
    assert unverified["effective"] == pytest.approx(unverified["claimed"] * report["model"]["unverified_factor"], abs=1e-3)


def test_a_grader_error_is_not_a_failure():
    """The same candidate scores the same with errored gradings as with none at all."""
    errored = _by("grader error")
    nothing = build_report(Answers.from_dict(answers_dict()), {}, "engineer")
    assert errored["match_percent"] == nothing["match_percent"]
    assert all(s["evidence"] != "failed" for s in errored["skills"])


def test_qualified_persona_gets_company_tier_salary_and_interview_prep():
    report = _by("qualified")
    advice = report["advice"]
    assert advice["target_companies"] == "Well-funded AI startups and big-tech applied ML teams"   # match 82.4
    assert advice["expected_salary"] == "$280K-$378K"        # senior band, SF Bay Area +40%
    assert len(advice["interview_prep"]) == 3
    assert report["salary"]["level"] == "senior" and report["salary"]["region"] == "San Francisco Bay Area"


def test_band_advice_has_what_each_band_promises():
    assert set(_by("nearly")["advice"]) == {"critical_gaps", "actions", "bridge_strategy"}
    assert set(_by("significant")["advice"]) == {"recommended_path", "focus_areas", "entry_strategy"}
    not_viable = _by("not viable")["advice"]
    assert set(not_viable) == {"foundation", "alternative_paths", "prerequisites"}
    assert "A portfolio of documented deep-learning projects" in not_viable["prerequisites"]
    assert _by("significant")["advice"]["recommended_path"].startswith("A part-time or online master's")


def test_roadmap_and_resources_follow_the_largest_gaps():
    report = _by("nearly")
    roadmap = report["roadmap"]
    assert len(roadmap["next_30_days"]) == 3 and len(roadmap["months_3_6"]) == 3 and len(roadmap["months_6_12"]) == 3
    assert roadmap["next_action"] == roadmap["next_30_days"][0]
    resources = report["resources"]
    assert len(resources) == 5 and len({r["id"] for r in resources}) == 5
    gap_order = [g["id"] for g in report["top_gaps"]]
    assert [r["gap"] for r in resources] == gap_order[:5]   # one per gap, largest first


def test_unsubmitted_must_have_exercises_come_first_in_the_roadmap():
    report = build_report(Answers.from_dict(answers_dict()), {}, "engineer")
    first = report["roadmap"]["next_30_days"][0]
    assert first.startswith("Submit the `") and "must-have" in first


def test_a_strong_honest_candidate_who_passes_everything_is_qualified_with_every_skill_verified():
    """Issue 16's bar: with every skill backed by an exercise, passing them all with honest (high)
    claims reaches QUALIFIED NOW, and no skill is left to claims alone."""
    from dlverify.packs.registry import EXERCISE_IDS
    from dlverify.verdict.answers import Answers
    from dlverify.verdict.catalogue import default_catalogue
    from dlverify.verdict.engine import build_report
    from dlverify.verdict.results import results_from_dicts

    from verdict_helpers import answers_dict, flat_ratings, result_doc

    assert all(skill.exercises for skill in default_catalogue().skills.values())
    answers = Answers.from_dict(answers_dict(**flat_ratings(9, "trained", True)))
    results = results_from_dicts([(e, result_doc(e)) for e in EXERCISE_IDS])
    report = build_report(answers, results, "engineer")
    assert report["verdict"] == "QUALIFIED_NOW", report["match_percent"]
    assert all(s["verified"] is not None for s in report["skills"]), \
        [s["id"] for s in report["skills"] if s["verified"] is None]
