"""Which GPU a grading runs on, named the way nvidia-smi and Docker name it.

`--gpu N` is the index nvidia-smi prints. Three parties must agree on it: the
host (which measures the speed of light and describes the device), the local
sandbox child (which sees only that GPU through CUDA_VISIBLE_DEVICES) and a
container (`--gpus device=N`). CUDA numbers devices fastest-first unless told
otherwise, so the host is told PCI bus order, nvidia-smi's and Docker's.

A process started with CUDA_VISIBLE_DEVICES already set (a Ray worker given
one GPU, a runner pinned by its job queue) sees only those GPUs: without
`--gpu` it grades on the first of them, and `--gpu N` must be one of them.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

# Before anything initialises CUDA in this process (torch reads it once, at init).
os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")


class GpuChoiceError(ValueError):
    """A --gpu that this process cannot use (exit code 2)."""


def visible_gpus(environ: dict[str, str] | None = None) -> list[str] | None:
    """The host's CUDA_VISIBLE_DEVICES as a list, None when unset (every GPU visible)."""
    raw = (environ if environ is not None else os.environ).get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def physical_gpu(requested: int | None, environ: dict[str, str] | None = None) -> str:
    """The GPU the child gets, as nvidia-smi names it ("0", "3", or a GPU-... UUID)."""
    visible = visible_gpus(environ)
    if requested is not None and requested < 0:
        raise GpuChoiceError(f"--gpu must be a GPU index (0, 1, ...), not {requested}")
    if visible is not None and not visible:
        raise GpuChoiceError("CUDA_VISIBLE_DEVICES is empty: this process may use no GPU")
    if requested is None:
        return visible[0] if visible else "0"
    if visible is not None and str(requested) not in visible:
        raise GpuChoiceError(f"--gpu {requested}: this process may only use CUDA_VISIBLE_DEVICES="
                             f"{','.join(visible)}")
    return str(requested)


def host_index(physical: str, environ: dict[str, str] | None = None) -> int:
    """The index torch uses in this process for that GPU."""
    visible = visible_gpus(environ)
    if visible is not None:
        return visible.index(physical)
    return int(physical)


@contextlib.contextmanager
def on_gpu(physical: str | None) -> Iterator[None]:
    """Make `physical` this thread's current CUDA device (cudaSetDevice is per thread)."""
    if physical is None:
        yield
        return
    import torch

    with torch.cuda.device(host_index(physical)):
        yield
