"""Importing a `grade-batch` output folder (or a folder of result files) into a cohort.

The candidates are named as the batch named them: summary.json maps each
candidate to its result file (a name with odd characters has a digest in its
file name, so the file name alone would not do). Without a summary.json, each
`*.json` result is a candidate by its file's stem. Candidates the batch listed
without a graded submission (`no_submission`, `unreadable`) are added to the
cohort with no attempt, so the export still has their row.

Importing the same folder twice records nothing new: an attempt's identity is
its result's digest (record.py). A file that is not a grader result is passed
over with the reason, never the end of the import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .db import Gradebook, GradebookError
from .record import MAX_NAME, check_name, candidate, check_result, find_cohort, record_attempt


@dataclass
class ImportReport:
    recorded: int = 0
    already: int = 0                  # the same result was in the gradebook before
    listed: int = 0                   # candidates listed without an attempt (no_submission, unreadable)
    passed_over: list[tuple[str, str]] = field(default_factory=list)   # (file, why)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise GradebookError(f"{path}: not readable as JSON ({getattr(exc, 'strerror', None) or exc})") from None


def plan(folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(candidate, result file) pairs to import, and candidates listed without a result."""
    if not folder.is_dir():
        raise GradebookError(f"{folder}: no such folder (give a grade-batch --out folder)")
    summary = folder / "summary.json"
    if summary.is_file():
        document = _read(summary)
        rows = document.get("rows") if isinstance(document, dict) else None
        if not isinstance(rows, list):
            raise GradebookError(f"{summary}: not a grade-batch summary (no rows)")
        pairs, bare = [], []
        for row in rows:
            if not isinstance(row, dict) or not isinstance(row.get("name"), str):
                continue
            if row.get("result"):
                pairs.append((row["name"], folder / str(row["result"])))
            else:
                bare.append(row["name"])
        return pairs, bare
    files = folder / "results" if (folder / "results").is_dir() else folder
    found = sorted(p for p in files.glob("*.json") if p.is_file())
    if not found:
        raise GradebookError(f"{folder}: no summary.json and no result files (*.json) to import")
    return [(p.stem, p) for p in found], []


def import_folder(book: Gradebook, cohort_name: str, folder: Path,
                  on_file: Callable[[str, Path, str], None] | None = None) -> ImportReport:
    """Record every result of the folder into the cohort, one transaction per file (a long import
    interrupted keeps what it did; running it again adds only the rest)."""
    pairs, bare = plan(folder)
    report = ImportReport()
    with book.reading() as session:
        find_cohort(session, cohort_name)   # unknown cohort: one line, before anything is read
    for name, path in pairs:
        try:
            check_name("candidate", name, MAX_NAME)
            data = check_result(_read(path), str(path))
        except GradebookError as exc:
            report.passed_over.append((str(path), str(exc)))
            continue
        with book.writing() as session:
            done = record_attempt(session, find_cohort(session, cohort_name), name, data, source="import")
        if done.created:
            report.recorded += 1
        else:
            report.already += 1
        if on_file is not None:
            on_file(name, path, "recorded" if done.created else "already")
    if bare:
        with book.writing() as session:
            cohort = find_cohort(session, cohort_name)
            for name in bare:
                candidate(session, cohort, name)
        report.listed = len(bare)
    return report
