"""Words the three human-readable reports share, so they say the same thing."""

from __future__ import annotations

from typing import Any

from .salary import money

ADVICE_LABELS = {
    "target_companies": "Target companies",
    "expected_salary": "Expected salary",
    "interview_prep": "Interview-prep focus",
    "critical_gaps": "Critical gaps",
    "actions": "Required actions",
    "bridge_strategy": "Bridge strategy",
    "recommended_path": "Recommended path",
    "focus_areas": "Focus areas",
    "entry_strategy": "Entry strategy",
    "foundation": "Recommended foundation",
    "alternative_paths": "Alternative paths",
    "prerequisites": "Prerequisites",
}

EVIDENCE_LABELS = {"verified": "verified", "failed": "failed", "unverified": "not checked"}

GATE_NOTE = ("The match reaches QUALIFIED NOW, but the verdict is held at NEARLY QUALIFIED: "
             "these must-have hands-on skills have no passed exercise yet: {missing}.")


DEGREE_TEXT = {"none": "no degree", "bachelor": "a bachelor's degree", "master": "a master's degree",
               "phd": "a PhD"}


def candidate_line(report: dict[str, Any]) -> str:
    c = report["candidate"]
    years = f"{c['years_experience']:g} year{'' if c['years_experience'] == 1 else 's'}"
    return (f"{c['current_role']}, {years} of deep-learning experience, {DEGREE_TEXT[c['degree']]}, "
            f"{c['location']}; aiming at {c['target_area']} within {c['timeline']}.")


def level(x: float | None) -> str:
    """0..1 shown on the questionnaire's 0..10 scale."""
    return "-" if x is None else f"{x * 10:.1f}"


def exercises_cell(skill: dict[str, Any]) -> str:
    if not skill["exercises"]:
        return "no exercise yet"
    return ", ".join(f"{e['exercise']}: {e['outcome'].replace('_', ' ')}" for e in skill["exercises"])


def model_note(report: dict[str, Any]) -> str:
    m = report["model"]
    must = ", ".join(report["gate"]["must_verify"])
    return (
        f"How this was scored: a claim no graded exercise checked counts at x{m['unverified_factor']:g}; "
        f"a passed exercise shows the skill at {m['pass_level'] * 10:g}/10 (plus up to "
        f"{m['throughput_bonus'] * 10:g} for throughput measured on a GPU), and the part of a claim above that "
        f"counts at x{m['unverified_factor']:g}; a failed exercise caps the skill at "
        f"{m['failed_cap'] * 10:g}/10 times its share of hidden cases right, whatever was claimed; a grader "
        f"error counts as not checked. Claims more than {m['calibration_tolerance'] * 10:g} points from the "
        f"evidence are flagged. QUALIFIED NOW needs {m['bands']['QUALIFIED_NOW']:g}% and a passed exercise "
        f"for: {must}."
    )


def salary_lines(s: dict[str, Any]) -> list[str]:
    plus = "+" if s["open_ended"] else ""
    where = (f"{s['region']} (+{s['location_premium_percent']}%)" if s["region"]
             else f"{s['location']} (no listed premium; national band)")
    return [
        f"Level: {s['level_title']}, from {s['years_experience']:g} years of deep-learning experience",
        f"National band: {money(s['national'][0])}-{money(s['national'][1])}{plus}",
        f"Location: {where}",
        f"Expected range: {money(s['expected'][0])}-{money(s['expected'][1])}{plus}",
        f"Top-tier companies (+{s['top_tier_premium_percent'][0]}-{s['top_tier_premium_percent'][1]}%, "
        f"plus equity): {money(s['top_tier'][0])}-{money(s['top_tier'][1])}{plus}",
    ]
