"""The grading worker: takes uploads from the queue and grades them, never in the web process.

Each upload is graded by the same `grade()` as `dlverify grade` (the same sandbox), here or on a
Ray runner (`--ray`). A thread beats the upload's heartbeat while it grades, so a worker that
dies is noticed (queue.reap) and its upload graded again by another."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import Any, Callable

from sqlalchemy.exc import InterfaceError, OperationalError

from ..batch.model import UNREADABLE, Options
from ..gradebook.db import Gradebook, first_line
from ..gradebook.errors import GradebookError
from ..gradebook.models import Upload
from ..outcome import Status
from . import queue, reports

Grader = Callable[[str, str, bytes], dict[str, Any]]   # (exercise, suffix, content) -> result dict


def _graded(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("_runner", None)   # the runner's host name: nothing the web app shows
    return data


def local_grader(options: Options) -> Grader:
    """Here, as a Ray runner would (batch/fleet.py): the bytes in a temporary file, then grade()."""
    from ..batch.fleet import _grade_on_runner

    payload = {"device": options.device, "sandbox": options.sandbox, "throughput": options.throughput}
    return lambda exercise, suffix, content: _graded(
        _grade_on_runner(exercise, f"solution{suffix}", suffix, content, payload))


def ray_grader(address: str, options: Options) -> Grader:
    from ..batch.fleet import _connect, _grade_on_runner

    ray = _connect(address)
    task = ray.remote(num_cpus=1, max_calls=1, max_retries=0)(_grade_on_runner)
    payload = {"device": options.device, "sandbox": options.sandbox, "throughput": options.throughput}
    return lambda exercise, suffix, content: _graded(
        ray.get(task.remote(exercise, f"solution{suffix}", suffix, content, payload)))


SETTLE_EVERY = 10.0   # seconds between looks for verdicts that fell due while nobody graded
MAX_BACKOFF = 30.0    # seconds between tries while the database does not answer
# The database went away, restarted or stayed locked past its busy timeout: the worker says so
# and tries again; it never exits on it (nobody would restart it), and no upload is lost (one it
# was grading is re-queued once its heartbeat is stale).
DB_ERRORS = (OperationalError, InterfaceError)


def _say(message: str) -> None:
    sys.stderr.write(f"dlverify serve-worker: {message}\n")
    sys.stderr.flush()


def grade_one(book: Gradebook, upload: Upload, name: str, grader: Grader) -> None:
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(queue.HEARTBEAT_SECONDS):
            try:
                with book.session(write=True) as s:
                    queue.beat(s, upload.id, name)
            except DB_ERRORS as exc:   # a missed beat; the next one may land (STALE_AFTER spans several)
                _say(f"upload {upload.id}: a heartbeat did not reach the gradebook ({first_line(exc)})")

    beating = threading.Thread(target=heartbeat, daemon=True)
    beating.start()
    try:
        data = grader(upload.exercise, upload.suffix, upload.content)
    except Exception as exc:  # our fault (a grader bug, a lost runner): `error`, never the candidate's
        data = None
        outcome = dict(state="error", status=Status.ERROR.value, result=None,
                       summary=f"the grader failed ({type(exc).__name__}: {str(exc)[:300]})")
    finally:
        stop.set()
        beating.join()
    if data is not None:
        if UNREADABLE in data:
            outcome = dict(state="done", status="unreadable", summary=data[UNREADABLE], result=None)
        else:
            outcome = dict(state="done", status=data.get("status"), summary=data.get("summary", ""), result=data)
    try:
        with book.session(write=True) as s:
            try:
                finished = queue.finish(s, upload.id, name, **outcome)
            except GradebookError as exc:   # a result the gradebook refuses is the grader's fault
                s.rollback()
                finished = queue.finish(s, upload.id, name, state="error", status=Status.ERROR.value,
                                        result=None,
                                        summary=f"the grader's result could not be recorded ({str(exc)[:300]})")
            if finished:
                reports.settle(s, s.get(Upload, upload.id).invite)   # the last grading of a closed assessment
                s.commit()
    except DB_ERRORS as exc:
        _say(f"upload {upload.id}: its grading could not be stored ({first_line(exc)}); it goes back to the "
             "queue once its heartbeat is stale")


def run(book: Gradebook, grader: Grader, *, once: bool = False, idle: float = 1.0,
        stop: threading.Event | None = None) -> int:
    """Grade until stopped (or, with once=True, until the queue is empty). Returns how many."""
    # Upload.worker holds 120 characters: the host name gives way, the pid and thread stay whole.
    tail = f":{os.getpid()}:{threading.get_ident()}"
    name = socket.gethostname()[:120 - len(tail)] + tail
    done = 0
    stop = stop or threading.Event()
    settled_at = 0.0
    backoff = max(idle, 0.5)
    while not stop.is_set():
        try:
            with book.session(write=True) as s:
                queue.reap(s)
                if time.monotonic() - settled_at > SETTLE_EVERY:
                    reports.settle_closed(s)
                    settled_at = time.monotonic()
                upload = queue.claim(s, name)
        except DB_ERRORS as exc:
            _say(f"the gradebook did not answer ({first_line(exc)}); trying again in {backoff:.0f} s")
            stop.wait(backoff)
            backoff = min(2 * backoff, MAX_BACKOFF)
            continue
        backoff = max(idle, 0.5)
        if upload is None:
            if once:
                return done
            stop.wait(idle)
            continue
        grade_one(book, upload, name, grader)
        done += 1
    return done


def main(argv: list[str] | None = None) -> int:
    """`python -m dlverify.web.worker [--ray ADDRESS]`: what `dlverify serve` starts. The database
    comes in $DLVERIFY_DB, never on the command line, where `ps` would show its password."""
    import argparse

    from ..gradebook.db import database_url, open_gradebook

    p = argparse.ArgumentParser(prog="dlverify-web-worker")
    p.add_argument("--ray", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--sandbox", default="auto")
    p.add_argument("--no-throughput", action="store_true")
    args = p.parse_args(argv)
    options = Options(device=args.device, sandbox=args.sandbox, throughput=not args.no_throughput)
    book = open_gradebook(database_url())
    grader = ray_grader(args.ray, options) if args.ray else local_grader(options)
    try:
        run(book, grader)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
