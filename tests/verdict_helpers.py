"""Shared helpers for the verdict tests: synthetic grader results and answers.

Results are built as the grader writes them (dlverify.report.result/1 dicts), not by
running the grader, so the verdict suite stays fast.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SAMPLE_ANSWERS = Path(__file__).resolve().parent.parent / "dlverify" / "verdict" / "samples" / "demo_answers.yaml"


def result_doc(exercise: str, status: str = "passed", *, cases: int = 6, passed: int | None = None,
               throughput: dict | None = None, not_verified: list | None = None,
               sha: str = "0" * 64) -> dict[str, Any]:
    """A grader result dict with `passed` of `cases` hidden cases passing."""
    if status == "not_verified":     # a GPU-only pack on a CPU host: nothing ran (engine._cpu_fallback)
        cases, passed = 0, 0
        not_verified = not_verified or [{"what": "all cases", "reason": "no CUDA device here"}]
    if passed is None:
        passed = cases if status == "passed" else (0 if status in ("error",) else cases // 2)
    case_list = []
    for i in range(cases):
        if status == "error":
            st, msg = "not_run", "grader error"
        elif i < passed:
            st, msg = "passed", ""
        else:
            st = {"failed": "failed", "rejected": "rejected", "timeout": "timeout", "memory": "memory",
                  "crashed": "crashed", "passed": "passed"}[status]
            msg = f"max abs error 3.1e-2 above tolerance in case_{i}"
        case_list.append({"name": f"case_{i}", "status": st, "message": msg})
    return {
        "schema": "dlverify.report.result/1",
        "exercise": exercise,
        "title": exercise,
        "submission_file": f"{exercise}.py",
        "submission_sha256": sha,
        "status": status,
        "summary": f"{status}: {passed}/{cases} cases",
        "cases": case_list,
        "correctness_score": round(passed / cases, 4) if cases else 0.0,
        "throughput": throughput,
        "not_verified": not_verified or [],
        "graded_at": "2025-01-01T00:00:00Z",
    }


def answers_dict(**overrides: dict[str, Any]) -> dict[str, Any]:
    """The demo answers with sections overridden field by field: answers_dict(math={"calculus": 2})."""
    data = yaml.safe_load(SAMPLE_ANSWERS.read_text())
    data = copy.deepcopy(data)
    for section, fields in overrides.items():
        data[section].update(fields)
    return data


def flat_ratings(value: int, level: str, yes: bool) -> dict[str, dict[str, Any]]:
    """Overrides that set every rating, level and yes/no answer to one value."""
    from dlverify.verdict.answers import QUESTIONS

    out: dict[str, dict[str, Any]] = {}
    for q in QUESTIONS:
        for f in q.fields:
            if f.kind == "rating":
                out.setdefault(q.section, {})[f.name] = value
            elif f.kind == "level":
                out.setdefault(q.section, {})[f.name] = level
            elif f.kind == "bool":
                out.setdefault(q.section, {})[f.name] = yes
    return out
