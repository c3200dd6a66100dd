"""`dlverify validate`: every pack's reference and known-good solutions pass, every known-bad one
(and the untouched starter) does not, each for the reason its first line states.

A known-bad file starts with `# WRONG(<status>): <what it gets wrong>`.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..engine import grade
from ..outcome import Status
from .loading import load_pack
from .registry import get_exercise

WRONG_LINE = re.compile(r"#\s*WRONG\((?P<status>[a-z_|]+)\):\s*(?P<why>.+)")


@dataclass
class Expectation:
    exercise: str
    path: Path
    role: str                  # reference | correct | wrong | starter
    expected: tuple[str, ...]  # acceptable statuses
    why: str = ""


@dataclass
class Outcome:
    expectation: Expectation
    status: str
    summary: str
    ok: bool
    not_verified: bool


def expectations(exercise_id: str) -> list[Expectation]:
    exercise = get_exercise(exercise_id)
    pack = load_pack(exercise)
    items = [Expectation(exercise_id, pack.reference_path, "reference", ("passed",))]
    items += [Expectation(exercise_id, p, "correct", ("passed",)) for p in pack.solutions("correct")]
    for path in pack.solutions("wrong"):
        first = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
        match = WRONG_LINE.match(first.strip())
        if not match:
            raise ValueError(f"{path}: the first line must be '# WRONG(<status>): <what it gets wrong>'")
        items.append(Expectation(exercise_id, path, "wrong", tuple(match["status"].split("|")), match["why"].strip()))
    items.append(Expectation(exercise_id, exercise.starter, "starter", ("failed",), "the untouched starter"))
    return items


def judge_outcome(exp: Expectation, status: str, summary: str) -> Outcome:
    if status == Status.NOT_VERIFIED.value:
        # A GPU exercise on a CPU machine: never a pass, and not a mismatch either;
        # a known-bad file that fails here already (a compile error) is still checked.
        return Outcome(exp, status, summary, ok=True, not_verified=True)
    if exp.role in ("reference", "correct"):
        ok = status == "passed"
    else:
        ok = status != "passed" and status in exp.expected
    return Outcome(exp, status, summary, ok, False)


def run_validate(exercise_ids: list[str], *, device: str = "cpu", jobs: int = 2,
                 on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    items = [e for i in exercise_ids for e in expectations(i)]

    def one(exp: Expectation) -> Outcome:
        result = grade(exp.exercise, exp.path, device=device, throughput=False)
        outcome = judge_outcome(exp, result.status.value, result.summary)
        if on_outcome:
            on_outcome(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, items))
