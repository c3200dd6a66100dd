"""What a batch is made of: its entries, options, rows and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
SOLUTION_NAMES = ("solution.py", "solution.ipynb")  # what `dlverify start` writes
UNREADABLE = "unreadable"  # a row's status when the file could not be read as a submission
NO_SUBMISSION = "no_submission"  # a row's status for a candidate folder without one clear submission
SUMMARY_FIELDS = ("name", "status", "passed", "correctness", "throughput_score", "speedup", "summary",
                  "file", "result", "graded", "runner")


class BatchError(ValueError):
    """Bad input to a batch (exit code 2)."""


@dataclass(frozen=True)
class Entry:
    name: str   # the label in results and summary: the file's stem or the folder's name
    path: Path


@dataclass(frozen=True)
class Skipped:
    """A candidate's folder with no one clear submission in it: a row of its own, never a gap."""
    path: Path
    why: str
    name: str = ""  # the row's name; by default the folder's

    def __str__(self) -> str:
        return f"{self.path}: {self.why}"


@dataclass
class Options:
    device: str = "auto"
    sandbox: str = "auto"
    throughput: bool = True


@dataclass
class Row:
    name: str
    file: str
    status: str
    passed: bool = False
    correctness: float | None = None
    throughput_score: float | None = None
    speedup: float | None = None
    summary: str = ""
    result: str = ""          # the result JSON, relative to the output folder
    graded: str = "now"       # now | kept (from an earlier run on the same bytes)
    runner: str = ""          # the machine that graded it (Ray), empty for this one


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)   # folders that held no submission, and why
    interrupted: bool = False
    other_results: list[str] = field(default_factory=list)  # result files of no submission in this batch
