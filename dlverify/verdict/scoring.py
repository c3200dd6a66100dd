"""Claims and evidence per skill, criteria per role, the match percentage and the band.

The rules (numbers in data/verdict.yaml, reasons in docs/VERDICT.md):
- claimed: the catalogue's answers for the skill, each as 0..1, combined;
- a passed exercise shows the skill at pass_level (+ GPU throughput bonus), and
  the part of the claim above that counts at unverified_factor;
- a failed exercise shows the skill at failed_cap x its share of cases right,
  and a skill with any failed exercise is its exercises' mean level, whatever
  the claim (the cap);
- a claim nothing checked counts at unverified_factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..outcome import case_count
from .answers import Answers, field_at
from .catalogue import Band, Catalogue, Criterion, Role, Skill
from .results import ExerciseResult


@dataclass(frozen=True)
class ExerciseEvidence:
    exercise: str
    status: str          # grader status, or "not_submitted"
    outcome: str         # passed | failed | unverified | not_submitted
    level: float | None  # what it shows about the skill, when it counts
    correctness_score: float | None
    note: str


@dataclass(frozen=True)
class SkillScore:
    id: str
    title: str
    area: str
    claimed: float
    verified: float | None
    effective: float          # what the role criteria use
    evidence: str             # verified | failed | unverified
    checkable: bool           # some exercise exists for it
    exercises: tuple[ExerciseEvidence, ...] = field(default=())


@dataclass(frozen=True)
class CriterionScore:
    id: str
    title: str
    kind: str
    weight: float
    score: float
    basis: str


def r3(x: float) -> float:
    """Levels are reported to three decimals; rounding here keeps reports stable."""
    return round(x + 0.0, 3)


def answer_level(answers: Answers, path: str, levels: dict[str, float]) -> float:
    value = answers.get(path)
    kind = field_at(path).kind
    if kind == "rating":
        return value / 10.0
    if kind == "level":
        return levels[value]
    if kind == "bool":
        return 1.0 if value else 0.0
    raise AssertionError(f"{path} is not a claim field")


def claimed_level(skill: Skill, answers: Answers, levels: dict[str, float]) -> float:
    parts = [(answer_level(answers, c.answer, levels), c.weight) for c in skill.claims]
    if skill.combine == "max":
        return max(v for v, _ in parts)
    return sum(v * w for v, w in parts) / sum(w for _, w in parts)


def _count(result: ExerciseResult) -> str:
    """Hidden cases counted as grade's summary counts them: passed of those run, not-run ones named."""
    ran = result.cases_total - result.cases_not_run
    return case_count(result.cases_passed, ran, result.cases_not_run)


def exercise_evidence(ex: str, result: ExerciseResult | None, cat: Catalogue) -> ExerciseEvidence:
    rules = cat.evidence
    if result is None:
        return ExerciseEvidence(ex, "not_submitted", "not_submitted", None, None, "not submitted")
    if result.outcome == "passed":
        bonus = rules.throughput_bonus * result.throughput_score if result.throughput_score is not None else 0.0
        note = f"passed: {_count(result)}"
        if result.throughput_score is not None:
            note += f"; GPU throughput score {result.throughput_score:.2f}"
        return ExerciseEvidence(ex, result.status, "passed", r3(rules.pass_level + bonus),
                                result.correctness_score, note)
    if result.outcome == "failed":
        note = f"{result.status}: {_count(result)}"
        if result.first_failure:
            note += f"; first problem: {result.first_failure}"
        return ExerciseEvidence(ex, result.status, "failed", r3(rules.failed_cap * result.correctness_score),
                                result.correctness_score, note)
    return ExerciseEvidence(ex, result.status, "unverified", None, result.correctness_score, result.reason)


def score_skill(skill: Skill, answers: Answers, results: dict[str, ExerciseResult], cat: Catalogue) -> SkillScore:
    rules = cat.evidence
    claimed = claimed_level(skill, answers, cat.levels)
    evidence = tuple(exercise_evidence(ex, results.get(ex), cat) for ex in skill.exercises)
    graded = [e for e in evidence if e.outcome in ("passed", "failed")]
    if not graded:
        status, verified, effective = "unverified", None, claimed * rules.unverified_factor
    else:
        # the mean over graded exercises; any failure makes the claim irrelevant
        # (the cap): a skill checked by three exercises, one failed, sits at
        # (0.8 + 0.8 + at most 0.3) / 3, below a pass, whatever was claimed
        verified = sum(e.level for e in graded) / len(graded)
        if any(e.outcome == "failed" for e in graded):
            status, effective = "failed", verified
        else:
            status = "verified"
            effective = verified + max(0.0, claimed - verified) * rules.unverified_factor
    return SkillScore(skill.id, skill.title, skill.area, r3(claimed), None if verified is None else r3(verified),
                      r3(min(1.0, effective)), status, bool(skill.exercises), evidence)


def score_skills(answers: Answers, results: dict[str, ExerciseResult], cat: Catalogue) -> dict[str, SkillScore]:
    return {sid: score_skill(s, answers, results, cat) for sid, s in cat.skills.items()}


# --- facts: criteria read off the answers rather than off skills -----------------

def words_start(term: str, text: str) -> bool:
    """`term` occurs in `text` at the start of a word (so "recommend" finds "recommender")."""
    return re.search(r"(?<![a-z0-9])" + re.escape(term.lower()), text.lower()) is not None


def _education(c: Criterion, answers: Answers, cat: Catalogue, skills) -> tuple[float, str]:
    p = c.params or {}
    degree = answers.get("education.degree")
    years = answers.get("goals.years_experience")
    by_degree = float(p["degrees"][degree])
    by_years = min(1.0, years / float(p["equivalent_years"]))
    names = {"none": "no degree", "bachelor": "a bachelor's", "master": "a master's", "phd": "a PhD"}
    if by_years > by_degree:
        return by_years, (f"{_years(years)} of deep-learning experience count as equivalent "
                          f"({p['equivalent_years']} years = full marks; stated, not checked)")
    return by_degree, f"{names[degree]} (stated, not checked)"


def _years(years: float) -> str:
    text = f"{years:g}"
    return f"{text} year" if text == "1" else f"{text} years"


def _portfolio(c: Criterion, answers: Answers, cat: Catalogue, skills) -> tuple[float, str]:
    p = c.params or {}
    fields = p["fields"]
    described = [f for f in fields if len(str(answers.get(f)).split()) >= int(p["min_words"])]
    share = len(described) / len(fields)
    factor = cat.evidence.unverified_factor
    return share * factor, (f"{len(described)} of {len(fields)} project descriptions have some substance "
                            f"(at least {p['min_words']} words); self-reported, counted at x{factor:g}")


def _mentions(c: Criterion, answers: Answers, cat: Catalogue, skills) -> tuple[float, str]:
    p = c.params or {}
    text = " ".join(str(answers.get(f)) for f in p["fields"])
    found = [k for k in p["keywords"] if words_start(k, text)]
    factor = cat.evidence.unverified_factor
    if not found:
        return 0.0, "the project answers mention none of: " + ", ".join(p["keywords"][:6]) + ", ..."
    return factor, f"the project answers mention {', '.join(repr(k) for k in found[:3])}; self-reported, counted at x{factor:g}"


def _specialisation(c: Criterion, answers: Answers, cat: Catalogue, skills) -> tuple[float, str]:
    area = answers.get("goals.target_area")
    for spec in cat.specialisations:
        if spec.match == ("*",) or any(words_start(t, area) for t in spec.match):
            best = max(spec.skills, key=lambda s: (skills[s].effective, -spec.skills.index(s)))
            return skills[best].effective, (f"target area {area!r} read as {spec.title}; "
                                            f"its strongest skill here is {cat.skills[best].title}")
    raise AssertionError("the catalogue's catch-all specialisation is missing")


FACT_RULES = {"education": _education, "portfolio": _portfolio, "mentions": _mentions,
              "specialisation": _specialisation}


def score_criterion(c: Criterion, answers: Answers, cat: Catalogue, skills: dict[str, SkillScore]) -> CriterionScore:
    if c.fact:
        score, basis = FACT_RULES[c.fact](c, answers, cat, skills)
    else:
        levels = [(skills[s].effective, w) for s, w in c.skills]
        if c.combine == "max":
            score = max(v for v, _ in levels)
        elif c.combine == "min":
            score = min(v for v, _ in levels)
        else:
            score = sum(v * w for v, w in levels) / sum(w for _, w in levels)
        basis = f"{c.combine} of " + ", ".join(f"{s} {skills[s].effective:.2f}" for s, _ in c.skills)
    return CriterionScore(c.id, c.title, c.kind, c.weight, r3(score), basis)


def score_criteria(role: Role, answers: Answers, cat: Catalogue, skills: dict[str, SkillScore]) -> list[CriterionScore]:
    return [score_criterion(c, answers, cat, skills) for c in role.criteria]


def match_percent(criteria: list[CriterionScore]) -> float:
    total = sum(c.weight for c in criteria)
    return round(100.0 * sum(c.weight * c.score for c in criteria) / total, 1) if total else 0.0


def weighted_gaps(role: Role, criteria: list[CriterionScore], skills: dict[str, SkillScore]) -> dict[str, float]:
    """Points of match percentage lost, per gap (a skill id, or a fact criterion's id).

    A mean criterion spreads its shortfall over its skills by weight; a max
    criterion charges it to its first-listed skill (the one the profile names
    first, e.g. PyTorch before TensorFlow); a min criterion to its weakest skill.
    """
    total = sum(c.weight for c in role.criteria) or 1.0
    scores = {c.id: c for c in criteria}
    gaps: dict[str, float] = {}
    for c in role.criteria:
        if c.fact:
            gaps[c.id] = gaps.get(c.id, 0.0) + c.weight * (1.0 - scores[c.id].score)
            continue
        if c.combine == "mean":
            wsum = sum(w for _, w in c.skills)
            for s, w in c.skills:
                gaps[s] = gaps.get(s, 0.0) + c.weight * (w / wsum) * (1.0 - skills[s].effective)
        else:
            if c.combine == "max":
                target = c.skills[0][0]
            else:
                target = min(c.skills, key=lambda sw: skills[sw[0]].effective)[0]
            gaps[target] = gaps.get(target, 0.0) + c.weight * (1.0 - scores[c.id].score)
    return {k: round(100.0 * v / total, 2) for k, v in gaps.items()}


def pick_band(cat: Catalogue, match: float) -> Band:
    for band in cat.bands:
        if match >= band.min_match:
            return band
    return cat.bands[-1]
