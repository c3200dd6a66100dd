"""The personalised roadmap: checkbox steps for 30 days, 3-6 and 6-12 months,
the five resources for the largest weighted gaps, and one action for this week.

Everything is chosen from this candidate's own evidence and gaps, in a fixed
order (largest gap first, catalogue order on ties), so it is deterministic.
Evidence-first: a failed exercise to fix, or a claimed skill an exercise could
check but nobody submitted, comes before anything to read.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import Band, Catalogue, Role
from .scoring import SkillScore

IMMEDIATE = 3          # steps for the next 30 days
EVIDENCE_STEPS = 2     # at most this many of them are "fix/submit an exercise"
GOALS = 3
MILESTONES = 2         # plus the band's own milestone
RESOURCES = 5


@dataclass(frozen=True)
class GapItem:
    id: str
    title: str
    points: float        # match percentage points lost to this gap


@dataclass(frozen=True)
class Roadmap:
    next_30_days: tuple[str, ...]
    months_3_6: tuple[str, ...]
    months_6_12: tuple[str, ...]
    next_action: str
    resources: tuple[dict, ...]


def rank_gaps(gaps: dict[str, float], cat: Catalogue, role: Role) -> list[GapItem]:
    order = list(cat.skills) + [c.id for c in role.criteria]
    titles = {s.id: s.title for s in cat.skills.values()}
    titles.update({c.id: c.title for c in role.criteria if c.fact})
    ranked = sorted((k for k, v in gaps.items() if v > 0), key=lambda k: (-gaps[k], order.index(k)))
    return [GapItem(k, titles[k], gaps[k]) for k in ranked]


def exercise_weight(exercise: str, skills: dict[str, SkillScore], role: Role) -> float:
    """The share of the role's criteria weight a pass in `exercise` would verify: each skill it
    evidences that nothing has verified yet, at that skill's share of every criterion naming it."""
    weight = 0.0
    for c in role.criteria:
        if c.fact or not c.skills:
            continue
        wsum = sum(w for _, w in c.skills) or 1.0
        for sid, w in c.skills:
            s = skills.get(sid)
            if s is not None and s.verified is None and any(e.exercise == exercise for e in s.exercises):
                weight += c.weight * w / wsum
    return weight


def _evidence_steps(skills: dict[str, SkillScore], ranked: list[GapItem], role: Role) -> list[str]:
    """Fix what failed, then submit exercises for must-haves and for claims nothing checked."""
    rank = {g.id: i for i, g in enumerate(ranked)}
    by_gap = sorted(skills.values(), key=lambda s: (rank.get(s.id, len(rank)), list(skills).index(s.id)))
    steps: list[str] = []
    done: set[str] = set()
    for s in by_gap:
        for e in s.exercises:
            if e.outcome == "failed" and e.exercise not in done:
                done.add(e.exercise)
                why = f" - {e.note.split('; first problem: ', 1)[1]}" if "; first problem: " in e.note else ""
                steps.append(f"Fix your `{e.exercise}` submission and grade it again with "
                             f"`dlverify grade {e.exercise} <file>`{why}.")
    for must in (True, False):
        # Each exercise once, the one that would verify the most of the role's weight first.
        eligible = [sk for sk in by_gap if (sk.id in role.must_verify) == must and sk.evidence == "unverified"
                    and (must or sk.claimed >= 0.5)]
        offers = []
        for order, sk in enumerate(eligible):
            for e in sk.exercises:
                if e.outcome in ("not_submitted", "unverified") and e.exercise not in done:
                    offers.append((-exercise_weight(e.exercise, skills, role), order, sk, e))
        for _, _, sk, e in sorted(offers, key=lambda o: o[:2]):
            if e.exercise in done:
                continue
            done.add(e.exercise)
            why = ("a must-have that has to be verified before the verdict can read QUALIFIED NOW"
                   if must else f"your answers put it at {sk.claimed * 10:.0f}/10 and nothing has checked that yet")
            if e.outcome == "not_submitted":
                steps.append(f"Submit the `{e.exercise}` exercise to back your claim on {sk.title} with "
                             f"evidence - {why}.")
            else:   # graded, but nothing was decided (grader error, no GPU here)
                steps.append(f"Grade `{e.exercise}` again where it can run - {e.note}; {why}.")
    return steps


def pick_resources(ranked: list[GapItem], cat: Catalogue, limit: int = RESOURCES) -> list[dict]:
    """Round-robin over the gaps, largest first: each gap's best unused resource, then its next."""
    chosen: list[dict] = []
    used: set[str] = set()
    depth = 0
    while len(chosen) < limit and any(depth < len(cat.gaps[g.id].resources) for g in ranked):
        for g in ranked:
            options = cat.gaps[g.id].resources
            if depth < len(options) and options[depth] not in used and len(chosen) < limit:
                res = cat.resources[options[depth]]
                used.add(res.id)
                chosen.append({"id": res.id, "title": res.title, "kind": res.kind, "provider": res.provider,
                               "cost": res.cost, "url": res.url, "gap": g.id, "gap_title": g.title})
        depth += 1
    return chosen


def build_roadmap(cat: Catalogue, role: Role, band: Band, skills: dict[str, SkillScore],
                  ranked: list[GapItem]) -> Roadmap:
    evidence = _evidence_steps(skills, ranked, role)[:EVIDENCE_STEPS]
    study = [cat.gaps[g.id].now for g in ranked]
    immediate = (evidence + study)[:IMMEDIATE]
    goals = [cat.gaps[g.id].goal for g in ranked[:GOALS]]
    milestones = [cat.gaps[g.id].milestone for g in ranked[:MILESTONES]] + [band.milestone]
    resources = pick_resources(ranked, cat)
    if immediate:
        next_action = immediate[0]
    else:  # nothing left to close: keep the evidence fresh
        next_action = "Re-run the assessment with your latest submissions and bring the report to your next interview."
    return Roadmap(tuple(immediate), tuple(goals), tuple(milestones), next_action, tuple(resources))
