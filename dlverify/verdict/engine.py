"""The verdict, end to end: answers + grader results -> one report (a JSON-ready dict).

Every renderer (terminal, Markdown, HTML, JSON) reads this dict and nothing
else, so they cannot disagree. Same inputs, same bytes: the only field that
changes between runs is `generated_at`, and the clock is an argument.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from .advice import band_advice
from .answers import Answers
from .calibration import calibrate
from .calibration import rule as calibration_rule
from .catalogue import Catalogue, default_catalogue
from .results import ExerciseResult
from .roadmap import build_roadmap, rank_gaps
from .salary import salary_check
from .scoring import match_percent, pick_band, r3, score_criteria, score_skills, weighted_gaps

REPORT_SCHEMA = "dlverify.verdict/1"
TOP_GAPS = 5


def _flags(role, skills, labels, results: dict[str, ExerciseResult], gate_applied: bool) -> list[str]:
    flags: list[str] = []
    if gate_applied:
        flags.append("verification-gate")
    flags += [f"must-verify-missing:{s}" for s in role.must_verify if skills[s].evidence != "verified"]
    flags += [f"over-claimed:{s}" for s, v in labels.items() if v == "over-claimed"]
    flags += [f"under-claimed:{s}" for s, v in labels.items() if v == "under-claimed"]
    for ex, r in results.items():
        if r.status == "rejected":
            flags.append(f"rule-broken:{ex}")
        elif r.outcome == "failed":
            flags.append(f"failed-exercise:{ex}")
        elif r.status == "error":
            flags.append(f"grader-error:{ex}")
        elif r.outcome == "unverified":
            flags.append(f"not-checkable-here:{ex}")
    return flags


def _areas(cat: Catalogue, skills) -> list[dict[str, Any]]:
    out = []
    for area in cat.areas:
        members = [s for s in skills.values() if s.area == area.id]
        checked = [s for s in members if s.verified is not None]
        out.append({
            "id": area.id, "title": area.title,
            "claimed": r3(sum(s.claimed for s in members) / len(members)),
            # what the match uses: verified levels where graded, discounted claims elsewhere
            "evidence_weighted": r3(sum(s.effective for s in members) / len(members)),
            "verified": r3(sum(s.verified for s in checked) / len(checked)) if checked else None,
            "skills": len(members), "checked": len(checked),
        })
    return out


def answers_digest(answers: Answers) -> str:
    canonical = json.dumps(answers.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def timestamp(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_report(answers: Answers, results: dict[str, ExerciseResult], role_id: str = "engineer", *,
                 catalogue: Catalogue | None = None, now: datetime | None = None) -> dict[str, Any]:
    cat = catalogue or default_catalogue()
    if role_id not in cat.roles:
        raise KeyError(f"unknown role {role_id!r}; known: {', '.join(cat.roles)}")
    role = cat.roles[role_id]
    results = {ex: results[ex] for ex in sorted(results)}   # input order must not matter

    skills = score_skills(answers, results, cat)
    criteria = score_criteria(role, answers, cat, skills)
    match = match_percent(criteria)
    band = pick_band(cat, match)
    missing = [s for s in role.must_verify if skills[s].evidence != "verified"]
    uncapped = band
    if band is cat.bands[0] and missing:
        # never QUALIFIED NOW on self-report alone: the must-have hands-on skills need a pass
        band = cat.bands[1]
    gate_applied = band is not uncapped

    cal = calibrate(skills, cat.evidence.calibration_tolerance)
    ranked = rank_gaps(weighted_gaps(role, criteria, skills), cat, role)
    roadmap = build_roadmap(cat, role, band, skills, ranked)
    salary = salary_check(answers.get("goals.years_experience"), answers.get("goals.location"), cat.salary)
    advice = band_advice(band, role, cat, answers, match, criteria, ranked, roadmap, salary)
    total_weight = sum(c.weight for c in criteria) or 1.0

    return {
        "schema": REPORT_SCHEMA,
        "generated_at": timestamp(now),
        "role": role.id,
        "role_title": role.title,
        "verdict": band.id,
        "verdict_title": band.title,
        "match_percent": match,
        "timeline": band.timeline,
        "summary": band.summary,
        "gate": {
            "must_verify": list(role.must_verify),
            "missing": missing,
            "applied": gate_applied,
            "verdict_without_gate": uncapped.id,
        },
        "advice": advice,
        "flags": _flags(role, skills, cal.labels, results, gate_applied),
        "skills": [
            {
                "id": s.id, "title": s.title, "area": s.area,
                "claimed": s.claimed, "verified": s.verified, "effective": s.effective,
                "evidence": s.evidence, "calibration": cal.labels[s.id], "checkable": s.checkable,
                "exercises": [
                    {"exercise": e.exercise, "status": e.status, "outcome": e.outcome, "level": e.level,
                     "correctness_score": e.correctness_score, "note": e.note}
                    for e in s.exercises
                ],
            }
            for s in skills.values()
        ],
        "areas": _areas(cat, skills),
        "criteria": [
            {"id": c.id, "title": c.title, "kind": c.kind, "weight": c.weight, "score": c.score,
             "points": round(100.0 * c.weight * c.score / total_weight, 2), "basis": c.basis}
            for c in criteria
        ],
        "calibration": {
            "percent": cal.percent, "bias": cal.bias, "checked": cal.checked,
            "counts": cal.counts, "summary": cal.summary,
            "rule": calibration_rule(cat.evidence.calibration_tolerance),
        },
        "top_gaps": [{"id": g.id, "title": g.title, "points": g.points} for g in ranked[:TOP_GAPS]],
        "roadmap": {
            "next_30_days": list(roadmap.next_30_days),
            "months_3_6": list(roadmap.months_3_6),
            "months_6_12": list(roadmap.months_6_12),
            "next_action": roadmap.next_action,
        },
        "resources": list(roadmap.resources),
        "salary": salary.to_dict(),
        "exercises": [
            {"exercise": r.exercise, "status": r.status, "outcome": r.outcome,
             "correctness_score": r.correctness_score, "cases_passed": r.cases_passed,
             "cases_total": r.cases_total, "submission_sha256": r.submission_sha256}
            for r in results.values()
        ],
        "candidate": {
            "degree": answers.get("education.degree"),
            "years_experience": answers.get("goals.years_experience"),
            "location": answers.get("goals.location"),
            "target_area": answers.get("goals.target_area"),
            "timeline": answers.get("goals.timeline"),
            "current_role": answers.get("goals.current_role"),
            "answers_sha256": answers_digest(answers),
        },
        "model": {
            "unverified_factor": cat.evidence.unverified_factor,
            "pass_level": cat.evidence.pass_level,
            "throughput_bonus": cat.evidence.throughput_bonus,
            "failed_cap": cat.evidence.failed_cap,
            "calibration_tolerance": cat.evidence.calibration_tolerance,
            "bands": {b.id: b.min_match for b in cat.bands},
        },
    }


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
