"""A result's hidden cases as the exports count them: one per case, or one for the whole
submission when nothing ran (a rule broken before the sandbox started, a syntax error, a
grader fault)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ...outcome import CaseStatus, Status

CANDIDATE_FAULTS = {s.value for s in CaseStatus} - {CaseStatus.PASSED.value, CaseStatus.NOT_RUN.value}


@dataclass(frozen=True)
class ExportCase:
    name: str
    status: str        # a CaseStatus value, or the result's Status when the case stands for it all
    message: str
    seconds: float | None
    whole: bool = False   # stands for the whole submission: no case ran

    @property
    def outcome(self) -> str:
        """passed | failure (the candidate's) | error (the grader's) | skipped (not run here)."""
        if self.status == CaseStatus.PASSED.value:
            return "passed"
        if self.status == Status.ERROR.value:
            return "error"
        if self.status in (CaseStatus.NOT_RUN.value, Status.NOT_VERIFIED.value):
            return "skipped"
        return "failure"


@functools.lru_cache(maxsize=None)
def hidden_case_count(exercise: str, device: str) -> int | None:
    """How many hidden cases the exercise checks on that device, from its pack; None if unknown
    here (a result from another dlverify, an exercise this one lacks)."""
    try:
        from ...packs.loading import load_pack
        from ...packs.registry import get_exercise

        return len(load_pack(get_exercise(exercise)).check_cases(device)) or None
    except Exception:  # noqa: BLE001 - only a figure for max_score; never the end of an export
        return None


def export_cases(result: dict[str, Any]) -> list[ExportCase]:
    cases = [c for c in result.get("cases") or [] if isinstance(c, dict)]
    out = [ExportCase(str(c.get("name", "")), str(c.get("status", "")), str(c.get("message") or ""),
                      c.get("seconds") if isinstance(c.get("seconds"), (int, float)) else None) for c in cases]
    status = str(result.get("status", ""))
    if status == Status.ERROR.value or not out:
        # The grader's fault after some cases ran, or nothing ran: one entry says so.
        out.append(ExportCase("submission" if not out else "grading", status, str(result.get("summary") or ""),
                              None, whole=not cases))
    return out


def wall_seconds(result: dict[str, Any]) -> float:
    process = result.get("process") if isinstance(result.get("process"), dict) else {}
    seconds = process.get("wall_seconds")
    if isinstance(seconds, (int, float)):
        return float(seconds)
    return float(sum(c.seconds or 0.0 for c in export_cases(result)))
