"""One submission of a batch: graded, written, turned into a row (here, or on a Ray runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..outcome import Status
from .model import UNREADABLE, Entry, Options, Row
from .store import row_from_result, write_result


def grade_to_dict(exercise_id: str, path: Path, options: Options, gpu: int | None = None) -> dict[str, Any]:
    """One grading, as the result's dict; an unreadable file gives {"unreadable": why}."""
    from ..engine import grade
    from ..submission.read import SubmissionError

    try:
        result = grade(exercise_id, path, device=options.device, sandbox=options.sandbox, gpu=gpu,
                       throughput=options.throughput)
    except SubmissionError as exc:
        return {UNREADABLE: str(exc)}
    except OSError as exc:
        # grade() reads the file first and lets an OSError (no read permission) through: the
        # file's fault, one row, never the end of the batch.
        if exc.filename is not None and Path(exc.filename) == Path(path):
            return {UNREADABLE: f"{path}: cannot be read ({exc.strerror or exc})"}
        raise
    return result.to_dict()


def fault_row(entry: Entry, message: str, runner: str = "") -> Row:
    """The grader's fault, not the submission's: `error`, never kept, graded again on a re-run."""
    return Row(entry.name, str(entry.path), Status.ERROR.value, summary=message, runner=runner)


def record(out: Path, entry: Entry, data: dict[str, Any], runner: str = "") -> Row:
    """Turn what a grading returned into a row, writing its result file first."""
    if UNREADABLE in data:
        return Row(entry.name, str(entry.path), UNREADABLE, summary=data[UNREADABLE], runner=runner)
    data["submission_file"] = str(entry.path)  # where it is here, not the runner's copy
    return row_from_result(entry, data, write_result(out, entry, data), "now", runner)
