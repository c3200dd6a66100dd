"""A cohort as one table: a row per candidate, a column per exercise, then verdict and match.

An exercise's cell is the counted attempt's score, the percentage of its hidden
cases passed (of those that ran); empty when the candidate has no attempt, or
only one that says nothing (a grader `error`, `not_verified`). `--status` adds a
status column after each exercise, so a TA can tell those apart.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

from ..queries import UNINFORMATIVE, CandidateSummary


def _score(attempt) -> float | None:
    if attempt is None or attempt.status in UNINFORMATIVE:
        return None
    return round(100.0 * attempt.correctness_score, 1)


def cohort_rows(people: list[CandidateSummary], exercises: list[str], *,
                with_status: bool = False) -> tuple[list[str], list[dict[str, Any]]]:
    header = ["candidate"]
    for exercise in exercises:
        header += [exercise] + ([f"{exercise}_status"] if with_status else [])
    header += ["verdict", "match_percent"]
    rows = []
    for person in people:
        row: dict[str, Any] = {"candidate": person.name}
        for exercise in exercises:
            attempt = person.counted.get(exercise)
            row[exercise] = _score(attempt)
            if with_status:
                row[f"{exercise}_status"] = attempt.status if attempt is not None else ""
        row["verdict"] = person.verdict.verdict if person.verdict is not None else ""
        row["match_percent"] = person.verdict.match_percent if person.verdict is not None else None
        rows.append(row)
    return header, rows


def write_csv(handle: TextIO, header: list[str], rows: list[dict[str, Any]]) -> None:
    # A candidate's name is their text: a cell that starts like a formula must not run (batch/store.py).
    from ...batch.store import spreadsheet_cell

    writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else spreadsheet_cell(v) for k, v in row.items()})
