"""What a batch is made of: its entries, options, rows and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
SOLUTION_NAMES = ("solution.py", "solution.ipynb")  # what `dlverify start` writes
UNREADABLE = "unreadable"  # a row's status when the file could not be read as a submission
NO_SUBMISSION = "no_submission"  # a row's status for a candidate folder without one clear submission
# The columns of summary.csv, what a TA opens: figures as numbers (points for a gradebook), and
# what identifies the grading (the file's bytes, when, where, by which version).
SUMMARY_FIELDS = ("name", "status", "passed", "points", "max_points", "cases_passed", "cases_total",
                  "cases_not_run", "correctness", "throughput_score", "speedup", "summary", "file",
                  "sha256", "device", "dlverify_version", "graded_at", "result", "graded", "runner")


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
    # Counted as grade's summary counts (outcome.case_count): passed of the cases that ran, and
    # those not run here apart. points / max_points are the same figures, named for a gradebook.
    cases_passed: int | None = None
    cases_total: int | None = None
    cases_not_run: int | None = None
    sha256: str = ""          # of the submission's bytes as graded
    device: str = ""          # cpu | cuda, and the GPU's name when there was one
    dlverify_version: str = ""
    graded_at: str = ""       # ISO 8601, UTC: when the result was made (an earlier run's, if kept)

    @property
    def points(self) -> int | None:
        return self.cases_passed

    @property
    def max_points(self) -> int | None:
        return self.cases_total


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)   # folders that held no submission, and why
    interrupted: bool = False
    other_results: list[str] = field(default_factory=list)  # result files of no submission in this batch
