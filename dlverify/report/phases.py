"""Where a grading's time goes: host seconds per phase, kept in the result (`phases`).

A fleet is sized by these: inputs made on the host, the sandbox's start-up
(interpreter, imports, the worker's confinement and preflight), the submission's
load (its import; a CUDA exercise's extension is built here), the cases, the timed calls,
the host's checks, the reference's run, torch's baseline and the harness's
calibration. Read from the host's own clock: frame arrivals and timers here.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

CASE_EVENTS = ("case_end", "case_error")


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds the block takes to phases[name]."""
    began = time.monotonic()
    try:
        yield
    finally:
        phases[name] = round(phases.get(name, 0.0) + time.monotonic() - began, 3)


def add(phases: dict[str, float], name: str, seconds: float | None) -> None:
    if seconds is not None and seconds >= 0:
        phases[name] = round(phases.get(name, 0.0) + seconds, 3)


def from_runs(phases: dict[str, float], runs, case_names: set[str], prefix: str = "") -> None:
    """Start-up, load, cases and timed calls of sandbox runs, from when their frames arrived
    (the runner's `loading` frame: the worker passed its preflight and imports the submission).

    case_names: the correctness cases (a bench case's error frame is a timed call's)."""
    for run in runs:
        frames = run.frames
        if run.started is None or not frames:
            continue
        loading = next((f.arrived for f in frames if f.header.get("event") == "loading"), None)
        ready = next((f.arrived for f in frames if f.header.get("event") == "ready"), None)
        last_case = max((f.arrived for f in frames if f.header.get("event") in CASE_EVENTS
                         and f.header.get("name") in case_names), default=None)
        end = frames[-1].arrived
        loaded = ready if ready is not None else end
        add(phases, prefix + "startup", (loading if loading is not None else loaded) - run.started)
        if loading is not None:
            add(phases, prefix + "load", loaded - loading)
        if ready is not None:
            cases_end = last_case if last_case is not None else ready
            add(phases, prefix + "cases", cases_end - ready)
            add(phases, prefix + "timed_calls", end - cases_end)
