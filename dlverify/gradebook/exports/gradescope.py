"""Gradescope's results.json (also what Otter writes for it), from grader results.

The format is Gradescope's autograder specification ("Output format"); the test
suite validates every export against docs/gradescope/results.schema.json, a
JSON Schema written from that specification. Each hidden case is a test worth
one point; a case not run here is worth none (it can neither pass nor fail);
a submission on which nothing ran is one test worth as many points as the
exercise has hidden cases, so every candidate's total is out of the same figure.
"""

from __future__ import annotations

import math
from typing import Any

from ...outcome import Status
from .cases import export_cases, hidden_case_count, wall_seconds

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")

_NOTE = {
    "failure": "",
    "error": "grader fault, not your submission's: course staff will grade it again",
    "skipped": "not run here (counts neither way)",
}


def _test(exercise: str, case, prefix: bool, number: str, visibility: str, device: str) -> dict[str, Any]:
    outcome = case.outcome
    if case.whole:
        max_score = float(hidden_case_count(exercise, device) or 1) if outcome != "skipped" else 0.0
    else:
        max_score = 0.0 if outcome == "skipped" else 1.0
    note = _NOTE.get(outcome, "")
    output = "\n".join(part for part in (case.status if outcome != "passed" else "", note, case.message) if part)
    name = case.name if not case.whole else f"{exercise} (whole submission)"
    return {"name": f"{exercise}: {name}" if prefix and not case.whole else name, "number": number,
            "score": max_score if outcome == "passed" else 0.0, "max_score": max_score,
            "status": "passed" if outcome == "passed" else "failed", "output": output, "output_format": "text",
            "tags": [exercise], "visibility": visibility}


def gradescope_results(results: list[dict[str, Any]], *, visibility: str = "visible") -> dict[str, Any]:
    """One results.json for one submission (several exercises: one Gradescope assignment)."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    exercises = [str(r.get("exercise", "")) for r in results]
    twice = sorted({e for e in exercises if exercises.count(e) > 1})
    if twice:
        raise ValueError(f"a results.json is one submission: {len(results)} results given, "
                         f"{exercises.count(twice[0])} of them for {twice[0]}")
    prefix = len(results) > 1
    tests: list[dict[str, Any]] = []
    lines: list[str] = []
    extra: dict[str, Any] = {}
    seconds = 0.0
    for number, result in enumerate(results, start=1):
        exercise = str(result.get("exercise", ""))
        device = str((result.get("device") or {}).get("kind") or "cpu")
        for sub, case in enumerate(export_cases(result), start=1):
            tests.append(_test(exercise, case, prefix, f"{number}.{sub}", visibility, device))
        lines.append(f"{exercise}: {result.get('status')} - {result.get('summary', '')}")
        for item in result.get("not_verified") or []:
            if isinstance(item, dict):
                lines.append(f"  not verified here: {item.get('what', '')}: {item.get('reason', '')}")
        if result.get("status") == Status.ERROR.value:
            lines.append("  the grader failed on this submission (not your fault); course staff will grade it again")
        seconds += wall_seconds(result)
        extra[exercise] = {"status": result.get("status"), "submission_sha256": result.get("submission_sha256"),
                           "graded_at": result.get("graded_at"),
                           "dlverify": (result.get("versions") or {}).get("dlverify")}
    return {
        "score": float(sum(t["score"] for t in tests)),
        "execution_time": int(math.ceil(seconds)),
        "output": "\n".join(lines),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {"dlverify": extra},
        "tests": tests,
    }
