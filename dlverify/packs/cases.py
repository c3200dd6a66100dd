"""Hidden cases as data: a name, parameters (shapes, dtype, flags) and a seed.

They live in graders/<id>/cases.toml, which never leaves the grader. The seed
that makes a case's inputs is the case's public seed mixed with a secret drawn
fresh for every grading run, so a submission cannot hard-code outputs for
known seeds; the child only ever sees the inputs, never a seed.
"""

from __future__ import annotations

import hashlib
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, Any] = field(hash=False)
    seed: int = 0
    devices: tuple[str, ...] = ("cpu", "cuda")  # where this case runs
    kind: str = "check"                        # check | bench


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float


def load_cases(path: Path) -> tuple[list[Case], dict[str, Tolerance], dict[str, Any]]:
    """Read cases.toml: [[case]] tables, a [tolerance.<dtype>] table, a [bench] table."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cases = []
    names = set()
    for raw in data.get("case", []):
        name = raw["name"]
        if name in names:
            raise ValueError(f"{path}: duplicate case name {name!r}")
        names.add(name)
        cases.append(
            Case(
                name=name,
                params=dict(raw.get("params", {})),
                seed=int(raw.get("seed", 0)),
                devices=tuple(raw.get("devices", ("cpu", "cuda"))),
                kind=raw.get("kind", "check"),
            )
        )
    tolerances = {
        dtype: Tolerance(float(t["atol"]), float(t["rtol"]))
        for dtype, t in data.get("tolerance", {}).items()
    }
    return cases, tolerances, dict(data.get("bench", {}))


def new_run_secret() -> int:
    """A fresh secret for one grading run; never written where the child can read it."""
    return secrets.randbits(63)


def case_seed(secret: int, case: Case, salt: str = "") -> int:
    """Mix the run secret with the case's public seed and name (and a salt for pools)."""
    text = f"{secret}:{case.name}:{case.seed}:{salt}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") & (2**63 - 1)
