"""The result of grading one submission: one dataclass, serialised to JSON.

Only the host builds these, from data the child handed back and evidence the
host gathered itself (exit status, cgroup counters, its own clock). The schema
is documented in docs/RESULT_SCHEMA.md; bump SCHEMA when it changes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..outcome import CaseStatus, Status

SCHEMA = "dlverify.report.result/1"


@dataclass
class CaseResult:
    name: str
    status: CaseStatus
    message: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    seconds: float | None = None   # host-observed wall time of the call, when known


@dataclass
class Throughput:
    device: str
    indicative: bool                       # CPU figures are indicative only
    runs: int = 0
    submission_seconds: float | None = None   # median per call, host-observed
    reference_seconds: float | None = None    # median per call, same inputs, same run
    speedup: float | None = None              # reference / submission (> 1: faster)
    score: float | None = None                # 0..1, mapping in the exercise README
    gbps: float | None = None
    tflops: float | None = None
    sol_fraction: float | None = None
    vs_torch: float | None = None
    child_seconds: float | None = None        # what the child's own timer said (cross-check only)
    note: str = ""
    per_case: list[dict[str, Any]] = field(default_factory=list)  # GPU: figures per bench case


@dataclass
class NotVerified:
    what: str
    reason: str


@dataclass
class Layer:
    name: str
    applied: bool
    detail: str = ""


@dataclass
class GradeResult:
    exercise: str
    title: str
    submission_file: str
    submission_sha256: str
    status: Status
    summary: str
    cases: list[CaseResult] = field(default_factory=list)
    correctness_score: float = 0.0
    throughput: Throughput | None = None
    not_verified: list[NotVerified] = field(default_factory=list)
    violations: list[dict[str, str]] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)
    process: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)   # host seconds per grading phase (docs/RESULT_SCHEMA.md)
    graded_at: str = ""
    schema: str = SCHEMA

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for case in data["cases"]:
            case["status"] = str(case["status"])
        counts = {s.value: 0 for s in CaseStatus}
        for case in self.cases:
            counts[case.status.value] += 1
        data["case_counts"] = counts
        data["passed"] = self.passed
        return finite(data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"


def finite(value: Any) -> Any:
    """The same data with every non-finite float (inf, NaN) as None.

    Results are JSON written with allow_nan=False, and many figures come from a candidate's
    numbers (an error of 1e300 against an exact 0, a time next to nothing): one overflow must
    never stop a result, or a batch, from being written. The schema's numbers are finite or null.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
