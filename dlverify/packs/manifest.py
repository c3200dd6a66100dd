"""An exercise's manifest (exercises/<id>/exercise.toml) read into typed dataclasses.

The manifest is part of what a candidate receives: the rules it lists are the
exercise's published contract, not secrets.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths


class ManifestError(ValueError):
    """A pack's manifest is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 120.0   # whole grading run, all cases, relaunches included
    cpu_seconds: float = 240.0    # RLIMIT_CPU per process, and the cgroup's total
    memory_mb: int = 4096         # cgroup memory limit (RSS + page cache of the run)
    processes: int = 64           # cgroup pids limit (threads count too)
    scratch_mb: int = 256         # the size-capped tmpfs that is the only writable place
    file_mb: int = 64             # RLIMIT_FSIZE: the largest file it may write
    output_mb: int = 256          # the most bytes of outputs it may hand back
    log_kb: int = 8               # captured stdout/stderr kept per stream


@dataclass(frozen=True)
class Rules:
    forbidden_imports: tuple[str, ...] = ()
    allowed_imports: tuple[str, ...] | None = None   # when set: only these and the standard library
    forbidden_ops: tuple[str, ...] = ()              # torch functions and aten ops, by name
    # When set: inside the graded call, the candidate's aten ops must be among these (allocation,
    # views, copies); the harness's own ops and Triton's launch plumbing are not the candidate's.
    allowed_ops: tuple[str, ...] | None = None
    require_triton_launch: bool = False

    @property
    def any(self) -> bool:
        """Whether there are rules to protect, and so the no-introspection rule binds."""
        return bool(self.forbidden_imports or self.forbidden_ops or self.require_triton_launch
                    or self.allowed_imports is not None or self.allowed_ops is not None)


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    summary: str
    skills: tuple[str, ...]
    framework: str                 # numpy | torch | triton | cuda | onnx | jax
    io: str                        # numpy | torch: how tensors cross the boundary
    entry_points: tuple[str, ...]  # names the submission must define
    handout: tuple[str, ...]       # files given to the candidate
    needs_gpu: bool
    devices: tuple[str, ...]       # where it can be graded for real
    limits: Limits
    rules: Rules
    folder: Path = field(compare=False)

    @property
    def starter(self) -> Path:
        return self.folder / "starter.py"

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"


def _pick(table: dict, cls, where: str):
    known = set(cls.__dataclass_fields__)
    unknown = set(table) - known
    if unknown:
        raise ManifestError(f"{where}: unknown keys {sorted(unknown)}")
    values = {}
    for key, value in table.items():
        values[key] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def load_manifest(exercise_id: str, root: Path | None = None) -> Exercise:
    folder = (root or paths.exercises_dir()) / exercise_id
    path = folder / "exercise.toml"
    if not path.is_file():
        raise ManifestError(f"no manifest at {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    where = str(path)
    try:
        ex = Exercise(
            id=data["id"],
            title=data["title"],
            summary=data.get("summary", ""),
            skills=tuple(data["skills"]),
            framework=data["framework"],
            io=data["io"],
            entry_points=tuple(data["entry_points"]),
            handout=tuple(data.get("handout", ["README.md", "starter.py"])),
            needs_gpu=bool(data.get("device", {}).get("needs_gpu", False)),
            devices=tuple(data.get("device", {}).get("supports", ["cpu"])),
            limits=_pick(data.get("limits", {}), Limits, where + " [limits]"),
            rules=_pick(data.get("rules", {}), Rules, where + " [rules]"),
            folder=folder,
        )
    except KeyError as exc:
        raise ManifestError(f"{where}: missing key {exc.args[0]!r}") from None
    if ex.id != exercise_id:
        raise ManifestError(f"{where}: id {ex.id!r} does not match its folder {exercise_id!r}")
    if ex.io not in ("numpy", "torch"):
        raise ManifestError(f"{where}: io must be 'numpy' or 'torch', not {ex.io!r}")
    for name in ex.handout:
        if not (folder / name).is_file():
            raise ManifestError(f"{where}: handout file {name!r} is missing")
    return ex
