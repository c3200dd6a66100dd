"""Shared pieces of the gradebook tests: results built with the grader's own dataclasses, and a
gradebook on each backend (a file for SQLite, a fresh database on the session's PostgreSQL; the
`db_url` and `book` fixtures in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pg_cluster
from dlverify.outcome import CaseStatus, Status
from dlverify.report.result import CaseResult, GradeResult, NotVerified, Throughput

BACKENDS = ("sqlite", "postgresql")


def make_result(exercise: str = "backprop_mlp", cases: list[str] | None = None, *, status: str | None = None,
                graded_at: str = "2026-01-05T10:00:00+00:00", sha: str = "a" * 64, summary: str = "",
                messages: dict[int, str] | None = None, throughput: float | None = None,
                device: str = "cpu") -> dict[str, Any]:
    """A result as the grader writes it (GradeResult.to_dict), with these case statuses in order.

    The overall status is the grader's rule when not given: passed when every case that ran
    passed and one did, else the first non-passing case's status.
    """
    cases = ["passed", "passed", "failed"] if cases is None else cases
    messages = messages or {}
    objects = [CaseResult(f"case_{i}", CaseStatus(s), messages.get(i, "" if s == "passed" else f"{s} here"),
                          seconds=0.01 * (i + 1)) for i, s in enumerate(cases)]
    if status is None:
        ran = [s for s in cases if s != "not_run"]
        bad = [s for s in ran if s != "passed"]
        status = bad[0] if bad else ("passed" if ran else "not_verified")
    ran = [c for c in objects if c.status is not CaseStatus.NOT_RUN]
    passed = sum(c.status is CaseStatus.PASSED for c in objects)
    result = GradeResult(
        exercise=exercise, title=exercise, submission_file=f"{exercise}.py", submission_sha256=sha,
        status=Status(status), summary=summary or f"{passed}/{len(ran)} cases passed", cases=objects,
        correctness_score=passed / len(ran) if ran else 0.0,
        throughput=Throughput(device=device, indicative=device == "cpu", runs=5, speedup=1.5, score=throughput)
        if throughput is not None else None,
        not_verified=[NotVerified(f"case {c.name}", "not here") for c in objects if c.status is CaseStatus.NOT_RUN],
        device={"kind": device, "name": "test machine"}, versions={"dlverify": "0.1.0", "python": "3"},
        process={"wall_seconds": 1.25}, graded_at=graded_at)
    return result.to_dict()


def backend_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return str(tmp_path / "gradebook.db")
    return pg_cluster.cluster().new_database()
