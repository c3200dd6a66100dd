"""One outcome vocabulary for the whole grader (pytest's reports.py model).

Nothing in dlverify learns what happened by parsing free text: every decision
is one of these values, set by the host from evidence.
"""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """The status of a whole graded submission."""

    PASSED = "passed"      # every case that ran passed, and at least one ran
    FAILED = "failed"      # it ran and at least one case gave a wrong answer
    REJECTED = "rejected"  # it broke a rule of the exercise (forbidden import, op...)
    TIMEOUT = "timeout"    # wall-clock or CPU-time limit hit
    MEMORY = "memory"      # memory limit hit (cgroup OOM kill, MemoryError, CUDA OOM)
    CRASHED = "crashed"    # died by a signal or exited on its own mid-run
    NOT_VERIFIED = "not_verified"  # could not be run here (e.g. a CUDA exercise on a CPU machine)
    ERROR = "error"        # the grader's own fault, never the candidate's

    def __str__(self) -> str:  # so f-strings print "passed", not "Status.PASSED"
        return self.value


class CaseStatus(str, enum.Enum):
    """The status of one hidden case."""

    PASSED = "passed"
    FAILED = "failed"      # wrong answer, wrong type/shape/dtype, or candidate exception
    REJECTED = "rejected"  # a rule was broken during this case
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    NOT_RUN = "not_run"    # not run here, with the reason (e.g. bf16 under the Triton interpreter)

    def __str__(self) -> str:
        return self.value


class ExitCode(enum.IntEnum):
    """Exit codes of the dlverify command (httpie's status.py model)."""

    OK = 0          # passed / done
    NOT_PASSED = 1  # graded, and it did not pass
    USAGE = 2       # bad command line, unknown exercise, unreadable file
    INTERNAL = 3    # the grader's own fault


def case_count(passed: int, ran: int, not_run: int) -> str:
    """The one way every report counts cases: passed of those that ran, the rest named as not run
    here (grade's summary and the verdict's evidence say the same figures)."""
    return f"{passed}/{ran} cases passed" + (f", {not_run} not run here" if not_run else "")
