"""The scoring rules one at a time: evidence against claims, calibration, gaps, salary."""

from __future__ import annotations

import pytest

from dlverify.verdict.answers import Answers
from dlverify.verdict.calibration import calibrate, label
from dlverify.verdict.catalogue import default_catalogue
from dlverify.verdict.results import results_from_dicts
from dlverify.verdict.salary import find_region, salary_check
from dlverify.verdict.scoring import SkillScore, match_percent, score_criteria, score_skills, weighted_gaps

from verdict_helpers import answers_dict, result_doc

CAT = default_catalogue()
RULES = CAT.evidence


def skills_for(overrides: dict | None = None, docs: list[dict] | None = None) -> dict[str, SkillScore]:
    answers = Answers.from_dict(answers_dict(**(overrides or {})))
    results = results_from_dicts([(d["exercise"], d) for d in docs or []])
    return score_skills(answers, results, CAT)


def test_claimed_level_is_the_weighted_answers():
    s = skills_for({"fundamentals": {"feedforward_backprop": 6}, "math": {"can_derive_backprop": False}})
    assert s["backpropagation"].claimed == pytest.approx((0.6 * 2 + 0.0) / 3, abs=1e-3)
    g = skills_for({"advanced": {"gans": "studied", "vaes": "trained", "diffusion": "none"}})
    assert g["generative-models"].claimed == CAT.levels["trained"]       # combine: max


def test_an_unverified_claim_counts_at_the_stated_factor():
    s = skills_for({"fundamentals": {"cnn": 8}})["cnn"]
    assert s.evidence == "unverified" and s.verified is None
    assert s.effective == pytest.approx(0.8 * RULES.unverified_factor)


def test_a_pass_lifts_a_modest_claim():
    s = skills_for({"fundamentals": {"transformers": 2}}, [result_doc("attention")])["attention"]
    assert s.evidence == "verified" and s.verified == RULES.pass_level
    assert s.effective == RULES.pass_level > s.claimed


def test_a_pass_below_a_high_claim_counts_the_rest_partly():
    s = skills_for({"fundamentals": {"transformers": 10}}, [result_doc("attention")])["attention"]
    assert s.effective == pytest.approx(RULES.pass_level + (1.0 - RULES.pass_level) * RULES.unverified_factor)


def test_a_failure_caps_the_skill_whatever_the_claim():
    for claim in (3, 10):
        s = skills_for({"fundamentals": {"transformers": claim}}, [result_doc("attention", "failed", cases=4, passed=2)])
        assert s["attention"].evidence == "failed"
        assert s["attention"].effective == pytest.approx(RULES.failed_cap * 0.5)


def test_one_failure_among_several_exercises_caps_the_skill_below_a_pass():
    docs = [result_doc("backprop_mlp"), result_doc("attention"), result_doc("mixed_precision", "failed", passed=0)]
    s = skills_for({"training": {"stability": 10, "debugging": 10}}, docs)["numerical-stability"]
    assert s.evidence == "failed"
    assert s.effective == pytest.approx((RULES.pass_level * 2 + 0.0) / 3, abs=1e-3)
    assert s.effective < RULES.pass_level


def test_gpu_throughput_adds_to_a_pass_but_cpu_figures_do_not():
    gpu = skills_for(docs=[result_doc("triton_softmax", throughput={"indicative": False, "score": 1.0})])["triton"]
    cpu = skills_for(docs=[result_doc("triton_softmax", throughput={"indicative": True, "score": 1.0})])["triton"]
    assert gpu.verified == pytest.approx(RULES.pass_level + RULES.throughput_bonus)
    assert cpu.verified == RULES.pass_level


def test_calibration_labels_and_overall_figure():
    def sk(claimed, verified):
        return SkillScore("x", "x", "a", claimed, verified, 0.0, "verified", True)
    tol = RULES.calibration_tolerance
    assert label(sk(0.9, 0.3), tol) == "over-claimed"
    assert label(sk(0.3, 0.8), tol) == "under-claimed"
    assert label(sk(0.55, 0.8), tol) == "consistent"                  # exactly at the tolerance
    assert label(sk(0.9, None), tol) == "unverified"
    cal = calibrate({"a": sk(0.9, 0.3), "b": sk(0.8, 0.8), "c": sk(0.5, None)}, tol)
    assert cal.checked == 2 and cal.percent == pytest.approx(70.0) and cal.bias == pytest.approx(0.3)
    assert cal.counts == {"over-claimed": 1, "under-claimed": 0, "consistent": 1, "unverified": 1}
    assert calibrate({"c": sk(0.5, None)}, tol).percent is None


def test_gaps_add_up_to_what_the_match_lost():
    answers = Answers.from_dict(answers_dict())
    role = CAT.roles["engineer"]
    skills = score_skills(answers, {}, CAT)
    criteria = score_criteria(role, answers, CAT, skills)
    gaps = weighted_gaps(role, criteria, skills)
    assert sum(gaps.values()) == pytest.approx(100 - match_percent(criteria), abs=0.1)


@pytest.mark.parametrize("years,level", [(0, "entry"), (2.5, "entry"), (3, "mid"), (4.9, "mid"), (5, "senior"),
                                         (7, "senior"), (8, "staff"), (30, "staff")])
def test_salary_level_by_years(years, level):
    assert salary_check(years, "Denver", CAT.salary).level_id == level


@pytest.mark.parametrize("location,region,premium", [
    ("San Francisco, CA", "San Francisco Bay Area", 40), ("Palo Alto", "San Francisco Bay Area", 40),
    ("NYC", "New York", 25), ("Brooklyn, New York", "New York", 25), ("Seattle", "Seattle", 25),
    ("Redmond, WA", "Seattle", 25), ("Sfax, Tunisia", None, 0), ("Austin, TX", None, 0), ("Remote", None, 0),
])
def test_salary_location_premium(location, region, premium):
    check = salary_check(1, location, CAT.salary)
    assert check.region == region and check.premium_pct == premium
    assert (check.low, check.high) == (round(110_000 * (100 + premium) / 100, -3), round(145_000 * (100 + premium) / 100, -3))


def test_salary_top_tier_and_open_ended_staff_band():
    staff = salary_check(12, "Seattle", CAT.salary)
    assert (staff.low, staff.high) == (338_000, 438_000)          # 270K and 350K, +25%
    assert (staff.top_tier_low, staff.top_tier_high) == (439_000, 657_000)   # +30% and +50%
    assert staff.open_ended and staff.range_text().endswith("+")
    assert find_region("sf bay area", CAT.salary)["premium_pct"] == 40


def test_a_failed_exercise_never_reads_consistent_with_a_claim_above_it():
    """Issue 14.8: "Evidence failed" beside "Calibration consistent" contradicted the row."""
    from dlverify.verdict.calibration import rule

    tol = RULES.calibration_tolerance
    failed = SkillScore("x", "x", "a", 0.6, 0.45, 0.0, "failed", True)      # within the tolerance, but failed
    assert label(failed, tol) == "over-claimed"
    modest = SkillScore("x", "x", "a", 0.4, 0.45, 0.0, "failed", True)      # claimed no more than shown
    assert label(modest, tol) == "consistent"
    passed = SkillScore("x", "x", "a", 0.6, 0.45, 0.0, "verified", True)    # a pass keeps the tolerance
    assert label(passed, tol) == "consistent"
    assert f"more than {tol * 10:g} points above" in rule(tol) and "where the exercise failed" in rule(tol)
