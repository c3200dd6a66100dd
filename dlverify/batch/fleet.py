"""Grading a batch over a fleet of runners with Ray.

Each submission is one Ray task. The task runs on a runner's host side (the
trusted grader, with dlverify installed) and calls the ordinary `grade()`,
which starts the sandbox there: Ray carries the submission's bytes to the
runner and the result's data back, and never runs candidate code itself.

- A GPU grading asks Ray for one whole GPU (`num_gpus=1`); Ray sets
  CUDA_VISIBLE_DEVICES for the task and `grade()` uses that GPU (gpus.py), so
  a timing never shares its GPU with another grading.
- `max_calls=1`: every task gets a fresh worker process, so nothing one
  grading leaves in a process (a CUDA context, a cached extension) reaches
  the next.
- Ray has no time limit per task. `grade()` enforces the exercise's own
  limits; the driver cancels a task that outlives them by far (a runner that
  hangs) and records a grader `error` for it, never the candidate's failure.
- `max_retries=0`: a task whose runner died is reported, not silently rerun
  with a new secret seed.

Keep the Ray cluster on a private network: anyone who can reach the head can
run code on every runner.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .model import UNREADABLE, BatchError, Entry, Options, Row
from .one import fault_row, grade_to_dict, record
from ..packs.registry import get_exercise
from ..submission.read import SubmissionError, submission_bytes

POLL_SECONDS = 2.0
# Beyond the exercise's wall limit: the reference timed in a second child,
# compiling a CUDA extension, a queue on a busy cluster.
SLACK_SECONDS = 600.0
LOCAL = "local"  # start a private Ray instance on this machine


def _grade_on_runner(exercise_id: str, shown_as: str, suffix: str, content: bytes,
                     options: dict[str, Any]) -> dict[str, Any]:
    """Runs in a Ray worker on a runner: the host side of one grading.

    `shown_as` is the submission's path on the driver, for messages."""
    with tempfile.TemporaryDirectory(prefix="dlverify-fleet-") as folder:
        path = Path(folder) / f"submission{suffix}"
        path.write_bytes(content)
        data = grade_to_dict(exercise_id, path, Options(**options))
    if UNREADABLE in data:  # it names the runner's temporary copy, which nobody can find
        data[UNREADABLE] = data[UNREADABLE].replace(str(path), shown_as)
    data["_runner"] = socket.gethostname()
    return data


@contextlib.contextmanager
def _quiet_stderr():
    """Ray's C++ core logs each failed connection attempt, once a second for
    twenty seconds, straight to file descriptor 2; the one-line error that
    follows says it all."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


CONNECT_SECONDS = 10.0


def _reachable(address: str) -> None:
    """Fail fast when nothing answers at HOST:PORT: given a wrong address, ray.init
    retries for about a quarter of an hour, in silence, before it gives up."""
    if address in ("auto", LOCAL):
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        return  # a form Ray knows and this does not: leave it to Ray
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise BatchError(f"--ray {address}: cannot connect (nothing answers at {host}:{port}: "
                         f"{exc.strerror or type(exc).__name__})") from None


def _connect(address: str):
    try:
        import ray
    except ImportError:
        raise BatchError("--ray needs Ray on this machine and every runner: pip install 'dlverify[fleet]'") from None
    _reachable(address)
    try:
        with _quiet_stderr():
            if address == LOCAL:
                ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BatchError(f"--ray {address}: cannot connect ({first})") from None
    return ray


def run_on_ray(exercise_id: str, entries: list[Entry], out: Path, options: Options, address: str,
               on_row: Callable[[Row], None]) -> tuple[list[Row], bool]:
    exercise = get_exercise(exercise_id)
    ray = _connect(address)
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        device = options.device
        if device == "auto":
            # Decided once for the batch, from the cluster: one batch, one kind of device.
            device = "cuda" if gpus and "cuda" in exercise.devices else "cpu"
        if device == "cuda" and not gpus:
            raise BatchError(f"--ray {address}: the cluster has no GPUs, and --device cuda needs one per grading")
        task = ray.remote(num_cpus=1, num_gpus=1 if device == "cuda" else 0,
                          max_calls=1, max_retries=0)(_grade_on_runner)
        # No more in flight than can run at once, so a task's clock starts when it
        # starts running rather than while it waits in a long queue.
        capacity = max(1, gpus if device == "cuda" else int(resources.get("CPU", 1)))
        payload = {"device": device, "sandbox": options.sandbox, "throughput": options.throughput}

        def submit(entry: Entry):
            # Read here as `grade` reads (capped, no link out of its folder): the driver must not
            # send a runner /etc/shadow because a candidate's solution.py points there.
            content = submission_bytes(entry.path)
            return task.remote(exercise_id, str(entry.path), entry.path.suffix, content, payload)

        return _collect(ray, submit, list(entries), capacity, out,
                        exercise.limits.wall_seconds * 2 + SLACK_SECONDS, on_row)
    finally:
        ray.shutdown()


def _collect(ray, submit: Callable[[Entry], Any], queued: list[Entry], capacity: int, out: Path,
             overdue_after: float, on_row: Callable[[Row], None]) -> tuple[list[Row], bool]:
    rows: list[Row] = []
    waiting: dict[Any, tuple[Entry, float]] = {}

    def finish(row: Row) -> None:
        rows.append(row)
        on_row(row)

    try:
        while queued or waiting:
            while queued and len(waiting) < capacity:
                entry = queued.pop(0)
                try:
                    waiting[submit(entry)] = (entry, time.monotonic())
                except OSError as exc:  # read here, before it goes out: no permission, a broken link
                    finish(record(out, entry, {UNREADABLE: f"{entry.path}: cannot be read "
                                                            f"({exc.strerror or exc})"}))
                except SubmissionError as exc:  # a link out of its folder, too large
                    finish(record(out, entry, {UNREADABLE: str(exc)}))
            if not waiting:
                continue  # every file just taken could not be read
            ready, _ = ray.wait(list(waiting), num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                entry, _ = waiting.pop(ref)
                try:
                    data = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a runner or Ray fault, whatever its kind
                    lines = str(exc).strip().splitlines()
                    finish(fault_row(entry, f"runner fault (not the submission's): {type(exc).__name__}"
                                             + (f": {lines[-1]}" if lines else "")))
                else:
                    runner = data.pop("_runner", "")
                    finish(record(out, entry, data, runner))
            now = time.monotonic()
            for ref, (entry, since) in list(waiting.items()):
                if now - since > overdue_after:
                    ray.cancel(ref, force=True)
                    del waiting[ref]
                    finish(fault_row(entry, f"runner did not answer within {overdue_after:.0f} s; cancelled "
                                             "(the grader's side)"))
    except KeyboardInterrupt:
        for ref in waiting:
            ray.cancel(ref, force=True)
        return rows, True
    return rows, False
