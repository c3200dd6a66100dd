"""Building one grading run's job folder: the submission copy, the inputs, job.json.

The folder is bound read-only into the sandbox. It holds case parameters and
input tensors, never the expected outputs, the hidden-case file or the secret.
The host keeps its own copy of every input in memory for the comparison.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import paths
from ..packs.cases import Case, case_seed
from ..packs.manifest import Exercise
from ..gpu import harness
from ..packs.loading import Pack, load_module_from_path

_codec = None


def codec():
    """sandbox/codec.py, the one definition of how data crosses the boundary (ours, loaded by path)."""
    global _codec
    if _codec is None:
        _codec = load_module_from_path("_dlverify_codec", paths.sandbox_dir() / "codec.py")
    return _codec


@dataclass
class PlannedCase:
    case: Case
    inputs: dict[str, Any]         # the host's own copy
    not_run: str | None = None     # reason, when it is not sent to the child


@dataclass
class PlannedBench:
    """A timed case's inputs: a pool of sets written as files, or seeds the worker makes them from.

    Generated benches (a GPU, and a driver with bench_inputs) send no data: the worker makes
    each call's inputs on the device from its seed, and the host makes the same ones again, with
    the same driver code on its own GPU, for the calls it checks and for torch's baseline."""

    case: Case
    pool: list[dict[str, Any]]                        # distinct input sets, one per timed call
    seeds: list[int] = field(default_factory=list)    # generated: one per slot (slot 0: the warm-up)
    generate: Callable[[int], dict] | None = None     # generated: seed -> inputs on the device

    @property
    def slots(self) -> int:
        return len(self.seeds) if self.seeds else len(self.pool)

    def device_inputs(self, slot: int) -> dict[str, Any]:
        """Slot `slot`'s inputs where they are made (the device, for a generated bench)."""
        return self.generate(self.seeds[slot]) if self.seeds else self.pool[slot]

    def host_inputs(self, slot: int) -> dict[str, Any]:
        """Slot `slot`'s inputs as the host's checks take them (on the CPU)."""
        if not self.seeds:
            return self.pool[slot]
        return {k: v.detach().cpu() if hasattr(v, "detach") else v for k, v in self.device_inputs(slot).items()}


@dataclass
class Job:
    folder: Path
    job_file: Path
    submission_file: Path
    cases: list[PlannedCase]                 # every case, in order (sent or not)
    sent: list[PlannedCase]                  # the ones the child runs, in order
    benches: list[PlannedBench] = field(default_factory=list)
    gpu: str | None = None                   # the GPU the child sees, nvidia-smi's name (gpus.py)


def _write_inputs(folder: Path, name: str, inputs: dict[str, Any], io: str) -> str:
    path = folder / f"{name}.{'npz' if io == 'numpy' else 'pt'}"
    path.write_bytes(codec().dumps(inputs, io))
    os.chmod(path, 0o644)
    return str(path)


def build_job(exercise: Exercise, pack: Pack, source: str, device: str, secret: int,
              *, throughput: bool) -> Job:
    folder = Path(tempfile.mkdtemp(prefix="dlverify-job-"))
    os.chmod(folder, 0o755)
    inputs_dir = folder / "inputs"
    inputs_dir.mkdir(mode=0o755)
    submission_dir = folder / "submission"
    submission_dir.mkdir(mode=0o755)
    submission_file = submission_dir / "submission.py"
    submission_file.write_text(source, encoding="utf-8")
    os.chmod(submission_file, 0o644)

    ctx = pack.context(device)
    not_run_reason = getattr(pack.grader, "not_run_reason", None)
    planned, sent, job_cases = [], [], []
    for index, case in enumerate(pack.check_cases(device)):
        reason = not_run_reason(case, ctx) if not_run_reason else None
        inputs = {} if reason else pack.grader.make_inputs(case, case_seed(secret, case))
        item = PlannedCase(case, inputs, reason)
        planned.append(item)
        if reason:
            continue
        sent.append(item)
        job_cases.append({"name": case.name, "params": case.params,
                          "inputs": _write_inputs(inputs_dir, f"case{index:03d}", inputs, exercise.io)})

    benches, job_benches = [], []
    generator = getattr(ctx.driver, "bench_inputs", None) if device == "cuda" else None
    if throughput:
        for index, case in enumerate(pack.bench_cases(device)):
            if not_run_reason and not_run_reason(case, ctx):
                continue
            if generator is not None:
                seeds = harness().bench_seeds(case_seed(secret, case), harness().GENERATED_CALLS + 1)
                params = dict(case.params)
                benches.append(PlannedBench(case, [], seeds, lambda seed, p=params: generator(p, seed, device)))
                job_benches.append({"name": case.name, "params": case.params, "seeds": seeds})
                continue
            # Slot 0 is an untimed warm-up, so the default leaves 3 (CPU) or 7 (GPU) timed calls.
            pool_size = int(case.params.get("pool", 4 if device == "cpu" else 8))
            pool = [pack.grader.make_inputs(case, case_seed(secret, case, salt=str(i))) for i in range(pool_size)]
            benches.append(PlannedBench(case, pool))
            job_benches.append({"name": case.name, "params": case.params, "inputs": [
                _write_inputs(inputs_dir, f"bench{index:02d}_{i:02d}", inputs, exercise.io)
                for i, inputs in enumerate(pool)]})

    job = {
        "exercise": exercise.id, "io": exercise.io, "framework": exercise.framework, "device": device,
        "submission": str(submission_file),
        "driver": str(paths.sandbox_dir() / "drivers" / f"{exercise.id}.py"),
        "entry_points": list(exercise.entry_points),
        "rules": {
            "forbidden_imports": list(exercise.rules.forbidden_imports),
            "allowed_imports": None if exercise.rules.allowed_imports is None else list(exercise.rules.allowed_imports),
            "forbidden_ops": list(exercise.rules.forbidden_ops),
            "allowed_ops": None if exercise.rules.allowed_ops is None else list(exercise.rules.allowed_ops),
            "require_triton_launch": exercise.rules.require_triton_launch,
            "no_introspection": exercise.rules.any,   # the worker installs attribute_rule's getattr
        },
        "cases": job_cases,
        "bench": job_benches,
    }
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(job, indent=1))
    os.chmod(job_file, 0o644)
    return Job(folder, job_file, submission_file, planned, sent, benches)


def with_submission(job: Job, source: str, name: str) -> Path:
    """Another submission file in the same job folder (the reference, timed on the same inputs)."""
    path = job.submission_file.parent / name
    path.write_text(source, encoding="utf-8")
    os.chmod(path, 0o644)
    data = json.loads(job.job_file.read_text())
    data["submission"] = str(path)
    other = job.folder / f"job-{Path(name).stem}.json"
    other.write_text(json.dumps(data, indent=1))
    os.chmod(other, 0o644)
    return other
