"""`dlverify doctor`: a runner checks itself before it grades anyone.

Each check is one line: ok, failed (with the reason), or not here (this
machine or these options do not have it). The sandbox checks launch
sandbox/probe.py through the same launcher and environment a grading uses,
so "CUDA inside the sandbox: ok" means a grading's worker can start CUDA,
not only that this process can.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from . import paths
from .launch.environment import child_env, cuda_available
from .launch.gpus import on_gpu
from .isolation.launcher import LaunchSpec, RunEvidence, SandboxUnavailable
from .packs.manifest import Limits
from .packs.registry import get_exercise

OK, FAILED, NOT_HERE = "ok", "failed", "not here"
PROBE_SECONDS = 300.0        # a load_inline build of the probe's extension takes up to a minute or two


@dataclass(frozen=True)
class Check:
    name: str
    state: str
    detail: str


def run_checks(device: str, sandbox: str, gpu: str | None, progress: Callable[[str], None]) -> list[Check]:
    """Every check for this runner. device: "cpu" or "cuda" (already resolved); gpu: nvidia-smi's name."""
    checks: list[Check] = []
    with on_gpu(gpu):
        checks += _local_sandbox(device, gpu, progress)
        checks += _docker(sandbox, device, gpu, progress)
        checks.append(_speed_of_light(device, progress))
    return checks


# ----------------------------------------------------------------------------- the local sandbox

def _probe(framework: str, device: str, gpu: str | None, launcher) -> tuple[RunEvidence, dict | None]:
    exercise = get_exercise("cuda_matmul" if framework == "cuda" else "triton_softmax")
    spec = LaunchSpec(child_script=paths.sandbox_dir() / "probe.py", argv=[framework, device],
                      readable=[paths.sandbox_dir()], limits=Limits(wall_seconds=PROBE_SECONDS, memory_mb=8192),
                      env=child_env(exercise, device, gpu), deadline=time.monotonic() + PROBE_SECONDS,
                      device=device, framework=framework)
    evidence = launcher(spec)
    report = next((f.header for f in evidence.frames if f.header.get("event") == "probe"), None)
    return evidence, report


def _why_no_report(evidence: RunEvidence) -> str:
    if evidence.timed_out:
        return f"the probe did not finish in {PROBE_SECONDS:.0f} s"
    tail = " ".join(evidence.stderr.split())[-400:]
    return f"the probe ended without a report (exit {evidence.returncode}, signal {evidence.signal}): {tail}"


def _local_sandbox(device: str, gpu: str | None, progress) -> list[Check]:
    from .isolation.launcher import launch

    progress("starting a sandbox as a grading would")
    framework = "triton" if device == "cuda" else "torch"
    try:
        evidence, report = _probe(framework, device, gpu, launch)
    except SandboxUnavailable as exc:
        return [Check("sandbox", FAILED, str(exc))]
    checks = [Check(f"layer: {layer.name}", OK if layer.applied else NOT_HERE, layer.detail)
              for layer in evidence.layers]
    if report is None:
        return checks + [Check("sandbox", FAILED, _why_no_report(evidence))]
    confined = str(report.get("confined", ""))
    checks.append(Check("worker confinement", FAILED if confined.startswith("not confined") else OK, confined))
    if device != "cuda":
        why = "no --device cuda" if cuda_available() else "no CUDA device on this machine"
        return checks + [Check(name, NOT_HERE, why) for name in
                         ("CUDA inside the sandbox", "Triton kernel inside the sandbox",
                          "load_inline extension inside the sandbox")]
    checks.append(_from_report(report, "cuda", "CUDA inside the sandbox"))
    checks.append(_from_report(report, "triton", "Triton kernel inside the sandbox"))
    progress("building a load_inline extension inside the sandbox (a minute or two)")
    evidence, report = _probe("cuda", device, gpu, launch)
    if report is None:
        return checks + [Check("load_inline extension inside the sandbox", FAILED, _why_no_report(evidence))]
    checks.append(_from_report(report, "toolchain", "nvcc and ninja inside the sandbox"))
    checks.append(_from_report(report, "extension", "load_inline extension inside the sandbox"))
    return checks


def _from_report(report: dict, key: str, name: str) -> Check:
    part = report.get(key)
    if not isinstance(part, dict):
        cuda = report.get("cuda")
        if isinstance(cuda, dict) and cuda.get("problems"):
            return Check(name, FAILED, "not tried: CUDA did not start")
        return Check(name, FAILED, "the probe did not report it")
    problems = [str(p) for p in part.get("problems") or []]
    seconds = part.get("seconds")
    took = f" ({seconds:.1f} s)" if isinstance(seconds, (int, float)) else ""
    return Check(name, FAILED, "; ".join(problems)) if problems else Check(name, OK, f"works{took}")


# ----------------------------------------------------------------------------- Docker and the speed of light

def _docker(sandbox: str, device: str, gpu: str | None, progress) -> list[Check]:
    from .isolation.docker import IMAGE, docker_available, image_present, launch_docker

    if sandbox == "local":
        return [Check("Docker engine and image", NOT_HERE, "--sandbox local")]
    if not docker_available():
        state = FAILED if sandbox == "docker" else NOT_HERE
        return [Check("Docker engine and image", state, "no Docker engine answers on this machine")]
    if not image_present():
        state = FAILED if sandbox == "docker" else NOT_HERE
        return [Check("Docker engine and image", state,
                      f"image {IMAGE} is missing: docker build -f Dockerfile.cuda -t {IMAGE} .")]
    progress("starting the probe in a container")
    try:
        evidence, report = _probe("triton" if device == "cuda" else "torch", device, gpu,
                                  lambda spec: launch_docker(spec, gpu=gpu))
    except Exception as exc:  # noqa: BLE001 - Docker's own faults are this check's answer
        return [Check("Docker engine and image", FAILED, f"{type(exc).__name__}: {exc}")]
    if report is None:
        return [Check("Docker engine and image", FAILED, _why_no_report(evidence))]
    if device == "cuda":
        cuda = _from_report(report, "cuda", "CUDA inside the container")
        if cuda.state != OK:
            return [Check("Docker engine and image", OK, IMAGE), cuda]
    return [Check("Docker engine and image", OK, f"{IMAGE}: the probe ran in a container")]


def _speed_of_light(device: str, progress) -> Check:
    if device != "cuda":
        return Check("speed of light", NOT_HERE, "measured per GPU; no --device cuda")
    from .gpu.sol import speed_of_light

    progress("reading (or measuring, once per GPU) the speed of light")
    try:
        sol = speed_of_light("cuda")
    except Exception as exc:  # noqa: BLE001
        return Check("speed of light", FAILED, f"{type(exc).__name__}: {exc}")
    peaks = ", ".join(f"{dtype} {value:.1f} TFLOP/s" for dtype, value in sorted(sol.matmul_tflops.items()))
    return Check("speed of light", OK, f"{sol.device}: copy {sol.copy_gbps:.0f} GB/s, {peaks}")
