"""Loading a pack's trusted grader code by path (graders/<id>/grader.py).

These files are ours, not the candidate's: loading them in the host is fine.
They are loaded by path so that `graders` never becomes an import name.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import paths
from .cases import Case, Tolerance, load_cases
from .manifest import Exercise


def sandbox_module(name: str) -> ModuleType:
    """sandbox/<name>.py, importable by that name here too, as in the child: the drivers import
    `contract`, and the timing harness's files import one another (gpu_timing, gpu_digest)."""
    path = paths.sandbox_dir() / f"{name}.py"
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() != path.resolve():
            raise ImportError(f"another module named {name!r} is loaded ({loaded.__file__}); "
                              "the sandbox's own is needed")
        return loaded
    return load_module_from_path(name, path)


def sandbox_contract() -> ModuleType:
    """sandbox/contract.py, importable as `contract` (the drivers the host loads by path import it)."""
    return sandbox_module("contract")


def load_module_from_path(name: str, path: Path) -> ModuleType:
    """Import a trusted file by path under a private module name."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling need the module registered
    spec.loader.exec_module(module)
    return module


@dataclass
class GraderContext:
    """What a pack's grader.py functions receive besides the case."""

    exercise: Exercise
    device: str
    tolerances: dict[str, Tolerance]
    grader_dir: Path
    extras: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def driver(self) -> ModuleType:
        sandbox_contract()
        return load_module_from_path(
            f"_dlverify_driver_{self.exercise.id}", paths.sandbox_dir() / "drivers" / f"{self.exercise.id}.py"
        )

    @cached_property
    def reference(self) -> ModuleType:
        return load_module_from_path(f"_dlverify_reference_{self.exercise.id}", self.grader_dir / "reference.py")


@dataclass
class Pack:
    exercise: Exercise
    grader: ModuleType
    cases: list[Case]
    tolerances: dict[str, Tolerance]
    folder: Path

    @property
    def reference_path(self) -> Path:
        return self.folder / "reference.py"

    def solutions(self, kind: str) -> list[Path]:
        return sorted((self.folder / "solutions" / kind).glob("*.py"))

    def context(self, device: str) -> GraderContext:
        return GraderContext(self.exercise, device, self.tolerances, self.folder)

    def check_cases(self, device: str) -> list[Case]:
        return [c for c in self.cases if c.kind == "check" and device in c.devices]

    def bench_cases(self, device: str) -> list[Case]:
        return [c for c in self.cases if c.kind == "bench" and device in c.devices]


def load_pack(exercise: Exercise) -> Pack:
    folder = paths.graders_dir() / exercise.id
    grader = load_module_from_path(f"_dlverify_grader_{exercise.id}", folder / "grader.py")
    cases, tolerances, _ = load_cases(folder / "cases.toml")
    return Pack(exercise, grader, cases, tolerances, folder)
