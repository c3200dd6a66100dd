"""Grading many submissions to one exercise: a course's hand-in folder, a hiring round.

    find_submissions -> keep results already graded from the same bytes
    -> grade the rest side by side (threads here, or Ray over a fleet: fleet.py)
    -> one result JSON per submission, written as each finishes
    -> summary.csv and summary.json

Each grading is the ordinary `grade()`, with its sandbox: running many at once
changes nothing about the trust boundary. Results are written as they come,
so an interrupted batch loses nothing and a second run picks up where it
stopped.
"""

from __future__ import annotations

import csv
import json
import queue
import re
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .outcome import Status

SUFFIXES = (".py", ".ipynb")
SOLUTION_NAMES = ("solution.py", "solution.ipynb")  # what `dlverify start` writes
UNREADABLE = "unreadable"  # a row's status when the file could not be read as a submission
SUMMARY_FIELDS = ("name", "status", "passed", "correctness", "throughput_score", "speedup", "summary",
                  "file", "result", "graded", "runner")


class BatchError(ValueError):
    """Bad input to a batch (exit code 2)."""


@dataclass(frozen=True)
class Entry:
    name: str   # the label in results and summary: the file's stem or the folder's name
    path: Path


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
    skipped: list[str] = field(default_factory=list)   # folders that held no submission, and why
    interrupted: bool = False


# --- finding submissions ---------------------------------------------------------

def _hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__pycache__"


def _from_folder(folder: Path) -> tuple[Path | None, str]:
    """The submission inside one candidate's folder, or the reason there is none."""
    named = [folder / n for n in SOLUTION_NAMES if (folder / n).is_file()]
    if len(named) == 2:
        return None, "holds both solution.py and solution.ipynb"
    if named:
        return named[0], ""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES and not _hidden(p))
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, "holds no .py or .ipynb file"
    return None, f"holds {len(found)} .py/.ipynb files and no solution.py to choose"


def find_submissions(targets: list[Path]) -> tuple[list[Entry], list[str]]:
    """Entries named by file stem or folder name, and notes on folders passed over.

    A target is a submission file, or a folder of them: each `.py`/`.ipynb`
    directly inside is one submission, each sub-folder is one candidate's
    (its solution.py or solution.ipynb, or its only .py/.ipynb file).
    """
    entries: list[Entry] = []
    skipped: list[str] = []
    for target in targets:
        if not target.exists():
            raise BatchError(f"{target}: no such file or folder")
        if target.is_file():
            if target.suffix not in SUFFIXES:
                raise BatchError(f"{target}: expected a .py or .ipynb file, or a folder of them")
            entries.append(Entry(target.stem, target))
            continue
        for child in sorted(target.iterdir()):
            if _hidden(child):
                continue
            if child.is_file() and child.suffix in SUFFIXES:
                entries.append(Entry(child.stem, child))
            elif child.is_dir():
                found, why = _from_folder(child)
                if found is None:
                    skipped.append(f"{child}: {why}")
                else:
                    entries.append(Entry(child.name, found))
    seen: dict[str, Path] = {}
    for entry in entries:
        if entry.name in seen:
            raise BatchError(f"two submissions are named {entry.name!r}: {seen[entry.name]} and {entry.path}")
        seen[entry.name] = entry.path
    if not entries:
        where = ", ".join(str(t) for t in targets)
        raise BatchError(f"no .py or .ipynb submissions found in {where}")
    return entries, skipped


# --- results on disk ---------------------------------------------------------------

def result_name(entry_name: str) -> str:
    """A file name for the entry's result: its name, with anything odd replaced."""
    return "results/" + re.sub(r"[^A-Za-z0-9._-]", "_", entry_name) + ".json"


def row_from_result(entry: Entry, data: dict[str, Any], result_file: str, graded: str, runner: str = "") -> Row:
    tp = data.get("throughput") or {}
    return Row(name=entry.name, file=str(entry.path), status=data["status"], passed=bool(data.get("passed")),
               correctness=data.get("correctness_score"), throughput_score=tp.get("score"),
               speedup=tp.get("speedup"), summary=data.get("summary", ""), result=result_file,
               graded=graded, runner=runner)


def _timing_missing(exercise_id: str, data: dict[str, Any]) -> bool:
    """A pass graded with --no-throughput, for an exercise that has timed cases on that device."""
    from .packs import load_pack
    from .registry import get_exercise

    if data.get("status") != Status.PASSED.value or data.get("throughput") is not None:
        return False
    kind = (data.get("device") or {}).get("kind", "cpu")
    return bool(load_pack(get_exercise(exercise_id)).bench_cases(kind))


def earlier_result(out: Path, entry: Entry, exercise_id: str, device: str | None,
                   throughput: bool = True) -> dict[str, Any] | None:
    """A result from an earlier run that still stands: same exercise, same bytes, same device kind,
    and timed if timing is asked for now.

    A grader fault (`error`) is never kept: it says nothing about the submission.
    """
    from .submission import SubmissionError, read_submission

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


def write_summary(out: Path, exercise_id: str, outcome: Outcome) -> tuple[Path, Path]:
    rows = sorted(outcome.rows, key=lambda r: r.name)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "summary.csv", out / "summary.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    json_path.write_text(json.dumps({
        "exercise": exercise_id, "submissions": len(rows), "counts": counts,
        "interrupted": outcome.interrupted, "skipped": outcome.skipped,
        "rows": [asdict(r) for r in rows],
    }, indent=2) + "\n", encoding="utf-8")
    return csv_path, json_path


# --- grading ---------------------------------------------------------------------

def grade_to_dict(exercise_id: str, path: Path, options: Options, gpu: int | None = None) -> dict[str, Any]:
    """One grading, as the result's dict; an unreadable file gives {"unreadable": why}."""
    from .engine import grade
    from .submission import SubmissionError

    try:
        result = grade(exercise_id, path, device=options.device, sandbox=options.sandbox, gpu=gpu,
                       throughput=options.throughput)
    except SubmissionError as exc:
        return {UNREADABLE: str(exc)}
    return result.to_dict()


def record(out: Path, entry: Entry, data: dict[str, Any], runner: str = "") -> Row:
    """Turn what a grading returned into a row, writing its result file first."""
    if UNREADABLE in data:
        return Row(entry.name, str(entry.path), UNREADABLE, summary=data[UNREADABLE], runner=runner)
    data["submission_file"] = str(entry.path)  # where it is here, not the runner's copy
    return row_from_result(entry, data, write_result(out, entry, data), "now", runner)


def run_local(exercise_id: str, entries: list[Entry], out: Path, options: Options, *, jobs: int,
              gpus: list[int] | None, on_row: Callable[[Row], None]) -> tuple[list[Row], bool]:
    """Grade on this machine, `jobs` at a time; with `gpus`, one grading per GPU at a time."""
    free: queue.Queue[int | None] = queue.Queue()
    for gpu in (gpus or [None] * jobs):
        free.put(gpu)
    workers = len(gpus) if gpus else jobs

    def one(entry: Entry) -> Row:
        gpu = free.get()
        try:
            return record(out, entry, grade_to_dict(exercise_id, entry.path, options, gpu))
        finally:
            free.put(gpu)

    rows: list[Row] = []
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dlverify-batch")
    futures: dict[Future, Entry] = {pool.submit(one, e): e for e in entries}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                row = future.result()
                rows.append(row)
                on_row(row)
    except KeyboardInterrupt:
        # Gradings already running finish inside their own limits; the rest never start.
        pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                row = future.result()
                if row not in rows:
                    rows.append(row)
                    on_row(row)
        return rows, True
    pool.shutdown(wait=True)
    return rows, False


def run_batch(exercise_id: str, entries: list[Entry], out: Path, options: Options, *, jobs: int = 2,
              gpus: list[int] | None = None, ray_address: str | None = None, fresh: bool = False,
              on_row: Callable[[Row], None] | None = None) -> Outcome:
    on_row = on_row or (lambda row: None)
    outcome = Outcome()
    todo: list[Entry] = []
    for entry in entries:
        kept = None if fresh else earlier_result(out, entry, exercise_id, options.device, options.throughput)
        if kept is None:
            todo.append(entry)
            continue
        row = row_from_result(entry, kept, result_name(entry.name), "kept")
        outcome.rows.append(row)
        on_row(row)
    if todo:
        if ray_address is not None:
            from .fleet import run_on_ray

            rows, interrupted = run_on_ray(exercise_id, todo, out, options, ray_address, on_row)
        else:
            rows, interrupted = run_local(exercise_id, todo, out, options, jobs=jobs, gpus=gpus, on_row=on_row)
        outcome.rows += rows
        outcome.interrupted = interrupted
    return outcome
