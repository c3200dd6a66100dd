"""Grading a batch's submissions side by side on this machine, or over Ray (fleet.py)."""

from __future__ import annotations

import queue
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable

from .model import Entry, Options, Outcome, Row
from .one import fault_row, grade_to_dict, record
from .store import earlier_result, result_name, row_from_result

def run_local(exercise_id: str, entries: list[Entry], out: Path, options: Options, *, jobs: int,
              gpus: list[int] | None, on_row: Callable[[Row], None]) -> tuple[list[Row], bool]:
    """Grade on this machine, `jobs` at a time; with `gpus`, one grading per GPU at a time."""
    from ..errors import UsageError

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
