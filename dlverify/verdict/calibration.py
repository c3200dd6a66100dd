"""Calibration: how well the candidate's claims predicted the evidence.

Per skill an exercise graded: claim minus verified level beyond the tolerance is
over-claimed, below minus the tolerance under-claimed, else consistent; where
the exercise failed, any claim above the verified level is over-claimed (a
failure is not a near miss, so "failed" never sits beside "consistent" for a
claim the evidence did not bear out). RULE says it in words, in every report.
Overall:
100 x (1 - mean |claim - verified|) over those skills, and the signed mean (the
bias: positive = claims run ahead of the evidence). Hiring teams read this as
how far to trust the rest of the self-report, the part no exercise checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from .scoring import SkillScore


@dataclass(frozen=True)
class Calibration:
    labels: dict[str, str]          # skill id -> over-claimed | under-claimed | consistent | unverified
    checked: int                    # skills with graded evidence
    percent: float | None           # 0..100, None when nothing was checked
    bias: float | None              # mean (claimed - verified), -1..1
    counts: dict[str, int]
    summary: str


def rule(tolerance: float) -> str:
    """The labels' rule in words, for the reports (levels are shown out of 10)."""
    points = f"{tolerance * 10:g}"
    return (f"over-claimed: the claim is more than {points} points above the verified level, or above it at all "
            f"where the exercise failed; under-claimed: more than {points} points below; consistent: otherwise; "
            "unverified: no exercise graded.")


def label(skill: SkillScore, tolerance: float) -> str:
    if skill.verified is None:
        return "unverified"
    diff = skill.claimed - skill.verified
    if skill.evidence == "failed" and diff > 1e-9:
        return "over-claimed"
    # a hair of slack so that 0.55 - 0.8 = -0.25000000000000006 is not "under"
    if diff > tolerance + 1e-9:
        return "over-claimed"
    if diff < -tolerance - 1e-9:
        return "under-claimed"
    return "consistent"


def calibrate(skills: dict[str, SkillScore], tolerance: float) -> Calibration:
    labels = {sid: label(s, tolerance) for sid, s in skills.items()}
    checked = [s for s in skills.values() if s.verified is not None]
    counts = {k: sum(1 for v in labels.values() if v == k)
              for k in ("over-claimed", "under-claimed", "consistent", "unverified")}
    if not checked:
        return Calibration(labels, 0, None, None, counts,
                           "Nothing checked: no exercise was graded, so no claim could be checked and every skill "
                           "rests on self-report.")
    diffs = [s.claimed - s.verified for s in checked]
    percent = round(100.0 * (1.0 - sum(abs(d) for d in diffs) / len(diffs)), 1)
    bias = round(sum(diffs) / len(diffs), 3)
    if bias > tolerance / 2:
        lean = f"claims run ahead of the evidence by {bias * 10:.1f} points out of 10 on average"
    elif bias < -tolerance / 2:
        lean = f"the evidence runs ahead of the claims by {-bias * 10:.1f} points out of 10 on average"
    else:
        lean = "claims and evidence agree on average"
    summary = (f"Calibration {percent:.0f}% over {len(checked)} checked skill{'s' if len(checked) != 1 else ''}: "
               f"{lean} ({counts['over-claimed']} over-claimed, {counts['under-claimed']} under-claimed, "
               f"{counts['consistent']} consistent).")
    return Calibration(labels, len(checked), percent, bias, counts, summary)
