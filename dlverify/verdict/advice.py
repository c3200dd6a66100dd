"""What each verdict band tells the candidate to do, filled in from their evidence.

QUALIFIED NOW: company tier, expected salary, interview-prep focus.
NEARLY QUALIFIED: critical gaps, actions, a bridge strategy.
SIGNIFICANT GAPS: a path by degree, focus areas, an entry strategy.
NOT CURRENTLY VIABLE: the foundation, alternative paths, prerequisites.
"""

from __future__ import annotations

from typing import Any

from .answers import Answers
from .catalogue import Band, Catalogue, Role
from .roadmap import GapItem, Roadmap
from .salary import SalaryCheck
from .scoring import CriterionScore

FOCUS = 3          # interview-prep areas / critical gaps / focus areas shown
WEAK_MUST = 0.3    # a must-have scoring below this is listed as a prerequisite


def band_advice(band: Band, role: Role, cat: Catalogue, answers: Answers, match: float,
                criteria: list[CriterionScore], ranked: list[GapItem], roadmap: Roadmap,
                salary: SalaryCheck) -> dict[str, Any]:
    gaps = [g.title for g in ranked[:FOCUS]]
    s = role.strategies
    if band.id == "QUALIFIED_NOW":
        tier = next(t["text"] for t in s["company_tiers"] if match >= t["min_match"])
        by_id = {c.id: c for c in role.criteria}
        # the weakest criteria are what an interview will probe; heavier first on ties
        weakest = sorted(criteria, key=lambda c: (c.score, -c.weight, [x.id for x in criteria].index(c.id)))
        return {
            "target_companies": tier,
            "expected_salary": salary.range_text(),
            "interview_prep": [by_id[c.id].interview_focus for c in weakest[:FOCUS]],
        }
    if band.id == "NEARLY_QUALIFIED":
        return {"critical_gaps": gaps, "actions": list(roadmap.next_30_days), "bridge_strategy": s["bridge"]}
    if band.id == "SIGNIFICANT_GAPS":
        return {
            "recommended_path": cat.paths_by_degree[answers.get("education.degree")],
            "focus_areas": gaps,
            "entry_strategy": s["entry"],
        }
    weak_musts = [c.title for c in criteria if c.kind == "must" and c.score < WEAK_MUST]
    return {
        "foundation": s["foundation"],
        "alternative_paths": list(s["alternatives"]),
        "prerequisites": list(s["prerequisites"]) + weak_musts,
    }
