"""From what was observed to statuses: the host's reading of a run's evidence.

Every status here comes from data the host holds (its own timer, cgroup
counters, the exit status it reaped, frames it parsed), never from text the
candidate printed. Frames come from the sandbox's runner, which the
candidate's worker process cannot write to; the order of checks still puts
the host's own evidence (deadline, OOM counter, CPU time) first.
"""

from __future__ import annotations

import signal

from ..isolation.launcher import RunEvidence
from ..packs.manifest import Limits
from ..outcome import CaseStatus, Status


def death(evidence: RunEvidence, limits: Limits) -> tuple[CaseStatus, str] | None:
    """Why the child stopped before saying "done", or None if it finished."""
    finished = any(f.header.get("event") == "done" for f in evidence.frames)
    if finished and not evidence.timed_out and not evidence.channel_problem:
        return None
    if evidence.timed_out:
        return CaseStatus.TIMEOUT, f"wall-clock limit of {limits.wall_seconds:g} s reached; every process was killed"
    if evidence.oom_kills > 0:
        return CaseStatus.MEMORY, f"memory limit of {limits.memory_mb} MiB reached (killed by the kernel's OOM killer)"
    cpu = evidence.cpu_seconds
    if evidence.signal == signal.SIGXCPU or (evidence.signal == signal.SIGKILL and cpu is not None
                                             and cpu >= 0.95 * limits.cpu_seconds):
        return CaseStatus.TIMEOUT, f"CPU-time limit of {limits.cpu_seconds:g} s reached"
    if evidence.channel_problem:
        return CaseStatus.CRASHED, evidence.channel_problem
    # The runner inside the sandbox says how its worker (the candidate's process) ended.
    abort = next((f.header for f in evidence.frames if f.header.get("event") == "abort"), None)
    if abort is not None:
        if abort.get("signal") == signal.SIGXCPU:
            return CaseStatus.TIMEOUT, f"CPU-time limit of {limits.cpu_seconds:g} s reached"
        if evidence.signal == signal.SIGKILL and evidence.memory_limit_hit:
            return CaseStatus.MEMORY, f"memory limit of {limits.memory_mb} MiB reached (killed)"
        return CaseStatus.CRASHED, str(abort.get("why") or "the submission's process ended early")[:300]
    if evidence.signal is not None:
        try:
            name = signal.Signals(evidence.signal).name
        except ValueError:
            name = f"signal {evidence.signal}"
        if evidence.signal == signal.SIGKILL and evidence.memory_limit_hit:
            return CaseStatus.MEMORY, f"memory limit of {limits.memory_mb} MiB reached (killed)"
        return CaseStatus.CRASHED, f"killed by {name}"
    return CaseStatus.CRASHED, f"the process exited (code {evidence.returncode}) before it finished"


# When several things went wrong, the report leads with the most telling one.
SEVERITY = (CaseStatus.REJECTED, CaseStatus.TIMEOUT, CaseStatus.MEMORY, CaseStatus.CRASHED, CaseStatus.FAILED)


def overall(case_statuses: list[CaseStatus]) -> Status:
    for status in SEVERITY:
        if status in case_statuses:
            return Status(status.value)
    if CaseStatus.PASSED in case_statuses:
        return Status.PASSED
    return Status.FAILED  # nothing ran: never a pass
