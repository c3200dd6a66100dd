"""Run the grader's own commands (nvcc, nm) on a candidate's files, inside the sandbox.

A compiler given hostile source reads the files that source names and prints
whatever the source makes it print: it is candidate input driving a program,
so it runs where candidate code runs. The files go into a fresh job folder,
sandbox/run_tools.py is launched through the same `launch()` as a grading
(cgroup, uid 65534, bubblewrap, rlimits, seccomp; Landlock without
bubblewrap), copies them into scratch and runs the commands there, keeping
only the first OUTPUT_CAP bytes of each one's output. The host's deadline
kills everything; each step has its own time limit inside it as well.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..packs.manifest import Limits
from . import launcher

OUTPUT_CAP = 256 << 10      # bytes kept of one command's output: a compiler's first errors matter
REPORT_SECONDS = 3.0        # left before the deadline for the sandbox to start and to report
# A compile of one honest source: cicc and the host compiler need a few hundred MiB, its
# intermediate files a few MiB. Wall time is the caller's deadline.
LIMITS = Limits(cpu_seconds=300, memory_mb=4096, processes=64, scratch_mb=512, file_mb=256,
                output_mb=4, log_kb=16)


@dataclass(frozen=True)
class Step:
    argv: list[str]          # run in the build folder, found on the sandbox's PATH
    seconds: float
    needs_ok: bool = False   # run only when the step before it exited 0


@dataclass
class StepResult:
    started: bool
    returncode: int | None   # None: killed at its time limit
    timed_out: bool
    output: str              # stdout and stderr together, the first OUTPUT_CAP bytes
    output_bytes: int        # all it printed


@dataclass
class ToolRun:
    steps: list[StepResult] = field(default_factory=list)
    build: str = ""                  # the folder the steps ran in, as they saw it
    timed_out: bool = False          # the deadline came before the sandbox finished
    out_of_memory: bool = False      # the run's memory limit was hit
    problem: str = ""                # how the sandbox ended, when it did not finish its report


def _step(header: dict, payload: bytes) -> StepResult:
    """One step's frame, read as untrusted data."""
    code = header.get("returncode")
    return StepResult(started=header.get("started") is True,
                      returncode=code if type(code) is int else None,
                      timed_out=header.get("timed_out") is True,
                      output=payload[:OUTPUT_CAP].decode("utf-8", errors="replace"),
                      output_bytes=header["output_bytes"] if type(header.get("output_bytes")) is int else 0)


def run_tools(files: dict[str, str], steps: list[Step], *, env: dict[str, str], deadline: float,
              readable: list[Path], limits: Limits | None = None) -> ToolRun:
    """Write `files` into a job folder and run `steps` on them in the sandbox, in order.

    `readable`: host folders the commands need beyond the system ones (a toolkit under /opt).
    Raises launcher.SandboxUnavailable when no sandbox can be had: the grader's fault.
    """
    folder = Path(tempfile.mkdtemp(prefix="dlverify-tools-"))
    try:
        os.chmod(folder, 0o755)   # the sandbox's uid reads it
        for name, text in files.items():
            if os.sep in name or name.startswith("."):
                raise ValueError(f"not a plain file name: {name!r}")
            (folder / name).write_text(text, encoding="utf-8")
            os.chmod(folder / name, 0o644)
        left = deadline - time.monotonic() - REPORT_SECONDS
        request = {"files": sorted(files), "cap": OUTPUT_CAP,
                   "steps": [{"argv": s.argv, "seconds": max(0.1, min(s.seconds, left)), "needs_ok": s.needs_ok}
                             for s in steps]}
        (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
        os.chmod(folder / "request.json", 0o644)
        spec = launcher.LaunchSpec(
            child_script=paths.sandbox_dir() / "run_tools.py", argv=[str(folder / "request.json")],
            readable=[paths.sandbox_dir(), folder, *readable], limits=limits or LIMITS, env=env, deadline=deadline,
            framework="numpy")  # the smallest set of packages: the script needs the standard library only
        evidence = launcher.launch(spec)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    run = ToolRun(timed_out=evidence.timed_out,
                  out_of_memory=evidence.memory_limit_hit or evidence.oom_kills > 0)
    for frame in evidence.frames:
        header = frame.header
        if header.get("event") == "step" and header.get("index") == len(run.steps):
            run.steps.append(_step(header, frame.payload))
            run.build = str(header.get("build", ""))[:200]
    if not any(f.header.get("event") == "done" for f in evidence.frames):
        how = (f"signal {evidence.signal}" if evidence.signal else f"exit code {evidence.returncode}")
        run.problem = (evidence.channel_problem or f"it ended with {how}: "
                       + evidence.stderr.strip()[-300:]).strip()
    return run
