"""Per-process resource limits, applied between fork and exec.

Not RLIMIT_AS: torch reserves about 1 GiB of address space just to import.
RLIMIT_DATA stands in for the memory limit only when no cgroup can be had.
RLIMIT_NPROC only binds non-root users; the cgroup's pids limit is the real one.
"""

from __future__ import annotations

import resource

from ..manifest import Limits


def apply(limits: Limits, *, memory_fallback: bool) -> None:
    cpu = int(limits.cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    file_bytes = limits.file_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    if memory_fallback:
        data = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_DATA, (data, data))


def describe(limits: Limits, *, memory_fallback: bool) -> str:
    text = f"rlimits: CPU {int(limits.cpu_seconds)} s, files {limits.file_mb} MiB, no core dumps"
    return text + (f", data {limits.memory_mb} MiB" if memory_fallback else "")
