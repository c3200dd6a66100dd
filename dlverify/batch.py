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
import hashlib
import json
import os
import queue
import re
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .outcome import Status

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


def _is_out(path: Path, out: Path | None) -> bool:
    """The batch's own output folder (or its results/), found inside a hand-in folder."""
    if out is None:
        return False
    here = path.resolve()
    return here in (out.resolve(), (out / "results").resolve())


def find_submissions(targets: list[Path], out: Path | None = None) -> tuple[list[Entry], list[Skipped]]:
    """Entries named by file stem or folder name, and notes on folders passed over.

    A target is a submission file, one candidate's folder (it holds a
    solution.py or solution.ipynb), or a folder of submissions: each
    `.py`/`.ipynb` directly inside is one, each sub-folder is one candidate's
    (its solution.py or solution.ipynb, or its only .py/.ipynb file).
    `out`, the batch's output folder, is left out when a target holds it.
    """
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    for target in targets:
        try:
            if not target.exists():
                raise BatchError(f"{target}: no such file or folder")
            if target.is_file():
                if target.suffix not in SUFFIXES:
                    raise BatchError(f"{target}: expected a .py or .ipynb file, or a folder of them")
                entries.append(Entry(target.stem, target))
                continue
            if any((target / name).is_file() for name in SOLUTION_NAMES):
                # One candidate's folder named directly (`grade-batch ex hand-in/*`): that candidate.
                found, why = _from_folder(target)
                if found is None:
                    skipped.append(Skipped(target, why))
                else:
                    entries.append(Entry(target.name, found))
                continue
            children = sorted(target.iterdir())
        except OSError as exc:  # a folder this user may not list
            raise BatchError(f"{target}: cannot be read ({exc.strerror or exc})") from None
        for child in children:
            if _hidden(child) or _is_out(child, out):
                continue
            try:
                if child.is_dir():
                    found, why = _from_folder(child)
                    if found is None:
                        skipped.append(Skipped(child, why))
                    else:
                        entries.append(Entry(child.name, found))
                elif child.suffix in SUFFIXES:
                    # A file, or a link to nothing: the latter becomes an `unreadable` row,
                    # so a candidate never drops out of the summary in silence.
                    entries.append(Entry(child.stem, child))
            except OSError as exc:
                skipped.append(Skipped(child, f"cannot be read ({exc.strerror or exc})"))
    unique: list[Entry] = []
    seen: dict[str, Path] = {}
    files: dict[str, str] = {}
    for entry in entries:
        if entry.name in seen:
            if os.path.normpath(seen[entry.name]) == os.path.normpath(entry.path):
                continue  # one file named twice (a folder and a file inside it): one submission
            raise BatchError(f"two submissions are named {entry.name!r}: {seen[entry.name]} and {entry.path}")
        # Distinct names must never share a result file, on a case-insensitive disk either.
        key = result_name(entry.name).casefold()
        if key in files:
            raise BatchError(f"{files[key]!r} and {entry.name!r} would share the result file "
                             f"{result_name(entry.name)}: rename one")
        seen[entry.name], files[key] = entry.path, entry.name
        unique.append(entry)
    if not unique:
        where = ", ".join(str(t) for t in targets)
        raise BatchError(f"no .py or .ipynb submissions found in {where}")
    return unique, skipped


# --- results on disk ---------------------------------------------------------------

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
    return [Row(s.path.name, str(s.path), NO_SUBMISSION, summary=s.why) for s in skipped]


def _cell(value: Any) -> Any:
    """A spreadsheet must show a candidate's text, never run it: a cell that starts like a
    formula (a file named `=HYPERLINK(...).py`) is prefixed with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _replace_atomically(path: Path, write: Callable[[Any], None]) -> None:
    temporary = path.with_name(path.name + ".part")
    # A file name that is not UTF-8 (b"caf\xe9.py") reaches here with a surrogate in it.
    with temporary.open("w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
        write(handle)
    temporary.replace(path)  # a second Ctrl-C never leaves half a summary


def write_summary(out: Path, exercise_id: str, outcome: Outcome) -> tuple[Path, Path]:
    rows = sorted(outcome.rows + skipped_rows(outcome.skipped), key=lambda r: r.name)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "summary.csv", out / "summary.json"

    def write_csv(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in asdict(row).items()})

    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    document = json.dumps({
        "exercise": exercise_id, "submissions": len(rows), "counts": counts,
        "interrupted": outcome.interrupted, "skipped": [str(s) for s in outcome.skipped],
        "other_results": outcome.other_results,
        "rows": [asdict(r) for r in rows],
    }, indent=2) + "\n"
    _replace_atomically(csv_path, write_csv)
    _replace_atomically(json_path, lambda handle: handle.write(document))
    return csv_path, json_path


# --- grading ---------------------------------------------------------------------

def grade_to_dict(exercise_id: str, path: Path, options: Options, gpu: int | None = None) -> dict[str, Any]:
    """One grading, as the result's dict; an unreadable file gives {"unreadable": why}."""
    from .engine import grade
    from .submission import SubmissionError, read_submission

    try:
        # Read here first: grade() lets an OSError (no read permission) through, and that
        # is the file's fault, one row, never the end of the batch.
        read_submission(path)
        result = grade(exercise_id, path, device=options.device, sandbox=options.sandbox, gpu=gpu,
                       throughput=options.throughput)
    except SubmissionError as exc:
        return {UNREADABLE: str(exc)}
    except OSError as exc:
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


def run_local(exercise_id: str, entries: list[Entry], out: Path, options: Options, *, jobs: int,
              gpus: list[int] | None, on_row: Callable[[Row], None]) -> tuple[list[Row], bool]:
    """Grade on this machine, `jobs` at a time; with `gpus`, one grading per GPU at a time."""
    from .engine import UsageError

    free: queue.Queue[int | None] = queue.Queue()
    for gpu in (gpus or [None] * jobs):
        free.put(gpu)
    workers = len(gpus) if gpus else jobs

    def one(entry: Entry) -> Row:
        gpu = free.get()
        try:
            try:
                data = grade_to_dict(exercise_id, entry.path, options, gpu)
            except UsageError:
                raise  # the command line's fault: it ends the batch
            except Exception as exc:  # noqa: BLE001 - one grading's fault must not end the batch
                # As a Ray runner's fault is (fleet.py): the other submissions still get graded.
                return fault_row(entry, f"grader fault (not the submission's): {type(exc).__name__}: {exc}")
            return record(out, entry, data)
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
    except BaseException:
        # Whatever ends the batch (a usage error, a result that cannot be written) ends it
        # now: without this the pool went on grading every queued submission, unseen,
        # after the error was reported.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
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
