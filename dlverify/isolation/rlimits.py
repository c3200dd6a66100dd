"""Per-process resource limits, applied between fork and exec.

Not RLIMIT_AS: torch reserves about 1 GiB of address space just to import.
RLIMIT_DATA stands in for the memory limit only when no cgroup can be had.

RLIMIT_NPROC counts every process and thread of the *user*, machine-wide, not
of this run: every sandbox runs as uid 65534, so a per-run number there would
let one fork bomb starve every other grading on the machine (and the host's
own nobody daemons). With a cgroup, its pids limit is the per-run bound and
RLIMIT_NPROC is left alone; without one, RLIMIT_NPROC is what the user already
runs plus the run's allowance.
"""

from __future__ import annotations

import os
import resource

from ..packs.manifest import Limits


def tasks_of(uid: int) -> int:
    """Processes and threads the user runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(entry.path).st_uid == uid:
                count += len(os.listdir(os.path.join(entry.path, "task")))
        except OSError:
            pass
    return count


def nproc_limit(limits: Limits, *, uid: int, has_cgroup: bool) -> int | None:
    """The RLIMIT_NPROC to set (None: leave it), computed in the parent before the fork."""
    if has_cgroup:
        return None
    return tasks_of(uid) + limits.processes


def apply(limits: Limits, *, memory_fallback: bool, nproc: int | None = None) -> None:
    cpu = int(limits.cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    file_bytes = limits.file_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    if memory_fallback:
        data = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_DATA, (data, data))


def describe(limits: Limits, *, memory_fallback: bool, nproc: int | None = None) -> str:
    text = f"rlimits: CPU {int(limits.cpu_seconds)} s, files {limits.file_mb} MiB, no core dumps"
    if nproc is not None:
        text += f", {limits.processes} more processes for the user"
    return text + (f", data {limits.memory_mb} MiB" if memory_fallback else "")
