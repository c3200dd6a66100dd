"""A batch's files: one result JSON per submission, earlier results that still stand, the summaries."""

from __future__ import annotations

import collections
import csv
import functools
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..outcome import Status
from ..report.terminal_text import plain
from .model import NO_SUBMISSION, SUMMARY_FIELDS, Entry, Outcome, Row, Skipped

# What a spreadsheet may skip before it looks for a formula: blanks (Unicode's too), controls,
# zero-width characters.
_FORMULA = re.compile(r"[\s\x00-\x1f\x7f\u200b-\u200f\u2060\ufeff]*[=+\-@]")
MAX_STEM = 120  # well under the 255 bytes a file name may have, with ".json.part" added


def result_name(entry_name: str) -> str:
    """A file name for the entry's result: its name, with anything odd replaced.

    Where that changed the name ("a b" and "a_b", "zoë" and "zoé") or shortened
    it, a digest of the real name keeps two entries from sharing one file.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", entry_name)
    if safe != entry_name or len(safe) > MAX_STEM:
        safe = f"{safe[:MAX_STEM]}-{hashlib.sha256(entry_name.encode('utf-8', 'surrogateescape')).hexdigest()[:10]}"
    return f"results/{safe}.json"


def row_from_result(entry: Entry, data: dict[str, Any], result_file: str, graded: str, runner: str = "") -> Row:
    tp = data.get("throughput") or {}
    cases = data.get("cases")
    counts = {}
    if isinstance(cases, list):
        not_run = sum(isinstance(c, dict) and c.get("status") == "not_run" for c in cases)
        counts = {"cases_passed": sum(isinstance(c, dict) and c.get("status") == "passed" for c in cases),
                  "cases_total": len(cases) - not_run, "cases_not_run": not_run}
    device = data.get("device") or {}
    return Row(name=entry.name, file=str(entry.path), status=data["status"], passed=bool(data.get("passed")),
               correctness=data.get("correctness_score"), throughput_score=tp.get("score"),
               speedup=tp.get("speedup"), summary=data.get("summary", ""), result=result_file,
               graded=graded, runner=runner, **counts, sha256=str(data.get("submission_sha256", "")),
               device=str(device.get("kind", "")) + (f" {device['name']}" if device.get("kind") == "cuda"
                                                      and device.get("name") else ""),
               dlverify_version=str((data.get("versions") or {}).get("dlverify", "")),
               graded_at=str(data.get("graded_at", "")))


@functools.lru_cache(maxsize=None)
def _has_bench_cases(exercise_id: str, kind: str) -> bool:
    """Loaded once per exercise and device (load_pack runs grader.py), not once per kept result."""
    from ..packs.loading import load_pack
    from ..packs.registry import get_exercise

    return bool(load_pack(get_exercise(exercise_id)).bench_cases(kind))


def _timing_missing(exercise_id: str, data: dict[str, Any]) -> bool:
    """A pass graded with --no-throughput, for an exercise that has timed cases on that device."""
    if data.get("status") != Status.PASSED.value or data.get("throughput") is not None:
        return False
    return _has_bench_cases(exercise_id, (data.get("device") or {}).get("kind", "cpu"))


def earlier_result(out: Path, entry: Entry, exercise_id: str, device: str | None,
                   throughput: bool = True) -> dict[str, Any] | None:
    """A result from an earlier run that still stands: same exercise, same bytes, same device kind,
    and timed if timing is asked for now.

    A grader fault (`error`) is never kept: it says nothing about the submission.
    """
    from ..submission.read import SubmissionError, read_submission

    path = out / result_name(entry.name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sha = read_submission(entry.path).sha256
    except (OSError, ValueError, SubmissionError):
        return None
    if not isinstance(data, dict) or data.get("exercise") != exercise_id or data.get("submission_sha256") != sha:
        return None
    if data.get("status") in (None, Status.ERROR.value):
        return None
    if (data.get("versions") or {}).get("dlverify") != __version__:
        return None  # another grader graded it: its cases or checks may have changed since
    if device not in (None, "auto") and (data.get("device") or {}).get("kind") != device:
        return None
    if throughput and _timing_missing(exercise_id, data):
        return None
    return data


def write_result(out: Path, entry: Entry, data: dict[str, Any]) -> str:
    relative = result_name(entry.name)
    target = out / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".json.part")
    temporary.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    temporary.replace(target)  # a reader never sees half a file, and an interrupt never leaves one
    return relative


def other_results(out: Path, entries: list[Entry]) -> list[str]:
    """Result files in the output folder that belong to no submission of this batch: one deleted
    or renamed since an earlier run, or another batch's. Kept (never deleted), but named, since
    the summary no longer lists them."""
    ours = {result_name(e.name) for e in entries}
    try:
        found = [f"results/{p.name}" for p in (out / "results").glob("*.json")]
    except OSError:
        return []
    return sorted(name for name in found if name not in ours)


def skipped_rows(skipped: list[Skipped]) -> list[Row]:
    return [Row(s.name or s.path.name, str(s.path), NO_SUBMISSION, summary=s.why) for s in skipped]


def spreadsheet_cell(value: Any) -> Any:
    """A spreadsheet must show a candidate's text, never run it: a cell that starts like a
    formula (a file named `=HYPERLINK(...).py`) is prefixed with an apostrophe.

    "Starts like" is judged past leading blanks and controls (" =1+1", "\\t=cmd": spreadsheets
    trim them) and on the NFKC form, so full-width and small forms (＝＋－＠, ﹦) count too.
    """
    if not isinstance(value, str):
        return value
    if _FORMULA.match(unicodedata.normalize("NFKC", value[:256])) or value[:1] in ("\t", "\r", "\n"):
        value = "'" + value
    # `cat summary.csv` must not replay a file name's escape sequences or bidi overrides either
    return plain(value, newlines=True)


def _replace_atomically(path: Path, write: Callable[[Any], None]) -> None:
    temporary = path.with_name(path.name + ".part")
    # A file name that is not UTF-8 (b"caf\xe9.py") reaches here with a surrogate in it.
    with temporary.open("w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
        write(handle)
    temporary.replace(path)  # a second Ctrl-C never leaves half a summary


def summary_rows(outcome: Outcome) -> list[Row]:
    """Every candidate of the batch, by name: graded, kept, and folders with no submission."""
    return sorted(outcome.rows + skipped_rows(outcome.skipped), key=lambda r: r.name)


def status_counts(rows: list[Row]) -> dict[str, int]:
    return dict(collections.Counter(row.status for row in rows))


def _relative(file: str, hand_in: Path | None) -> str:
    """A path as the TA knows it, under the hand-in folder; any other stays as it is."""
    if hand_in is None or not file:
        return file
    try:
        return Path(file).relative_to(hand_in).as_posix()
    except ValueError:
        return file


def _csv_row(row: Row, hand_in: Path | None) -> dict[str, Any]:
    values = asdict(row)
    values.update(points=row.points, max_points=row.max_points, file=_relative(row.file, hand_in))
    return {k: spreadsheet_cell(values[k]) for k in SUMMARY_FIELDS}


def write_summary(out: Path, exercise_id: str, outcome: Outcome,
                  hand_in: Path | None = None) -> tuple[Path, Path]:
    """summary.csv and summary.json; `hand_in`, the folder the submissions were found in, makes
    the CSV's paths relative to it."""
    rows = summary_rows(outcome)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "summary.csv", out / "summary.json"

    def write_csv(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(_csv_row(row, hand_in))

    document = json.dumps({
        "exercise": exercise_id, "submissions": len(rows), "counts": status_counts(rows),
        "hand_in": str(hand_in) if hand_in is not None else None,
        "interrupted": outcome.interrupted, "skipped": [str(s) for s in outcome.skipped],
        "other_results": outcome.other_results,
        "rows": [asdict(r) for r in rows],
    }, indent=2) + "\n"
    _replace_atomically(csv_path, write_csv)
    _replace_atomically(json_path, lambda handle: handle.write(document))
    return csv_path, json_path
