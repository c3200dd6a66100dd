"""The worker's own checks of the machine, after its Landlock domain and before any candidate code.

A GPU grading needs CUDA to start inside the sandbox, and, depending on the
exercise, Triton's compiler and a writable cache, or nvcc and ninja for
torch's load_inline. When one of these is missing or refused, every
submission would fail the same way, correct ones included: that is the
grader's fault, and the host reports it as `error` with this message, never
as the candidate's `failed`. Nothing here is candidate-controlled: it runs
before the submission is loaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess

HINT = "run `dlverify doctor --device cuda` on this runner"
TOOL_SECONDS = 60


def problems(device: str, framework: str, *, triton_digest: bool) -> list[str]:
    """What keeps this sandbox from grading on `device` (empty when all is well)."""
    if device != "cuda":
        return []
    found = cuda()
    if found:
        return found  # nothing else can work without the driver
    if framework == "triton" or triton_digest:
        found += triton()
    if framework == "cuda":
        found += cuda_toolchain()
    return found


def cuda() -> list[str]:
    try:
        import torch

        count = torch.cuda.device_count()
        if count < 1:
            return ["CUDA sees no device inside the sandbox (device nodes or CUDA_VISIBLE_DEVICES)"]
        probe = torch.ones(4, device="cuda")
        torch.cuda.synchronize()
        del probe
    except Exception as exc:  # noqa: BLE001 - any failure here is the runner's, said as the driver said it
        return [f"CUDA could not start inside the sandbox: {type(exc).__name__}: {_one_line(exc)}"]
    return []


def triton() -> list[str]:
    cache = os.environ.get("TRITON_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".triton")
    try:
        os.makedirs(cache, exist_ok=True)
        probe = os.path.join(cache, ".dlverify-probe")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as exc:
        return [f"Triton's cache folder {cache} is not writable inside the sandbox: {exc.strerror}"]
    try:
        import torch
        from gpu_digest import _triton_partials

        # The harness's own digest kernel: compiles (Triton, ptxas, the C launcher) and runs once,
        # so the first timed call of a submission never pays for the grader's compilation either.
        words = torch.arange(8, dtype=torch.int32, device="cuda")
        total = int(_triton_partials(words).sum().item())
        if total != 28:
            return [f"a Triton kernel ran inside the sandbox but summed 0..7 to {total}, not 28"]
    except Exception as exc:  # noqa: BLE001
        return [f"Triton could not compile and run a kernel inside the sandbox: {type(exc).__name__}: "
                f"{_one_line(exc)}"]
    return []


def cuda_toolchain() -> list[str]:
    found = []
    home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    nvcc = shutil.which("nvcc") or (os.path.join(home, "bin", "nvcc") if os.path.exists(os.path.join(home, "bin", "nvcc")) else None)
    for name, path in (("nvcc", nvcc), ("ninja", shutil.which("ninja"))):
        if path is None:
            found.append(f"{name} is not on the sandbox's PATH ({os.environ.get('PATH', '')}); "
                         "torch's load_inline needs it")
            continue
        try:
            done = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=TOOL_SECONDS)
        except (OSError, subprocess.SubprocessError) as exc:
            found.append(f"{name} ({path}) could not run inside the sandbox: {exc}")
            continue
        if done.returncode != 0:
            found.append(f"{name} ({path}) --version exited {done.returncode} inside the sandbox: "
                         + done.stderr.decode(errors="replace").strip()[-300:])
    return found


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:400]
