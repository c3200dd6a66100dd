"""What the grader knows about where it runs: device, versions, the child's environment."""

from __future__ import annotations

import datetime
import os
import importlib.metadata
import platform
import sys

from .. import __version__
from ..errors import UsageError
from ..machine import cpu_name, driver_version
from ..packs.manifest import Exercise


def resolve_device(requested: str, exercise: Exercise) -> str:
    if requested not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, not {requested!r}")
    has_cuda = cuda_available()
    if requested == "cuda" and not has_cuda:
        raise UsageError("--device cuda: no CUDA device is visible on this machine")
    if requested == "auto":
        return "cuda" if has_cuda and "cuda" in exercise.devices else "cpu"
    return requested


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def child_env(exercise: Exercise, device: str, gpu: str | None = None) -> dict[str, str]:
    """The child's whole environment: nothing of the host's beyond what it needs.

    `gpu` is the one GPU the child may see, as nvidia-smi names it (see gpus.py).
    """
    env = {
        # The interpreter's own bin first: a pip-installed ninja (torch's load_inline needs it) is there.
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "XDG_CACHE_HOME": "/tmp/.cache",
        "TRITON_CACHE_DIR": "/tmp/.triton",
        "TORCH_EXTENSIONS_DIR": "/tmp/torch_extensions",
        "TORCHINDUCTOR_CACHE_DIR": "/tmp/inductor",
    }
    if exercise.framework == "triton" and device == "cpu":
        env["TRITON_INTERPRET"] = "1"  # must be set before any @triton.jit runs
    if device == "cuda":
        env["CUDA_MODULE_LOADING"] = "LAZY"
        if exercise.framework == "cuda" and os.environ.get("CUDA_HOME"):
            env["CUDA_HOME"] = os.environ["CUDA_HOME"]  # where load_inline finds nvcc, when not in /usr/local/cuda
        if gpu is not None:
            env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
            env["CUDA_VISIBLE_DEVICES"] = gpu
    return env


def device_info(device: str, gpu: str | None = None) -> dict[str, str | None]:
    if device == "cuda":
        import torch

        from .gpus import host_index

        index = host_index(gpu) if gpu is not None else torch.cuda.current_device()
        return {"kind": "cuda", "name": torch.cuda.get_device_name(index),
                "capability": ".".join(map(str, torch.cuda.get_device_capability(index))),
                "cuda": torch.version.cuda, "driver": driver_version(), "gpu": gpu}
    return {"kind": "cpu", "name": cpu_name(), "machine": platform.machine()}


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    return {
        "python": platform.python_version(),
        "torch": _version("torch"),
        "triton": _version("triton"),
        "numpy": _version("numpy"),
        "dlverify": __version__,
        "cuda": _torch_cuda(),
        "platform": f"{sys.platform}-{platform.machine()}",
    }


def _torch_cuda() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.version.cuda


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
