"""The two faults that are not the candidate's: the person's input, and our own code.

Lowest in the package: the engine, the device choice and the commands all
raise or catch these, so they live below all of them.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the person running the grader (exit code 2)."""


class GraderFault(RuntimeError):
    """Our own grader code failed (a pack's expected() or check() raised): status `error`."""
