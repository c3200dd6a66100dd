"""Where a grading's time goes (result.phases): the frames' arrival times split into
start-up, the submission's load (a CUDA extension's build happens here), cases and timed calls."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from dlverify.engine import grade
from dlverify.launch.channel import Frame
from dlverify.report import phases


def _run(started: float, *events: tuple[str, float, str | None]):
    frames = [Frame({"event": e, **({"name": n} if n else {})}, b"", t) for e, t, n in events]
    return SimpleNamespace(started=started, frames=frames)


def test_each_phase_runs_from_one_frame_to_the_next():
    run = _run(10.0, ("loading", 11.0, None), ("ready", 13.5, None), ("case_start", 13.6, "a"),
               ("case_end", 14.0, "a"), ("case_error", 14.5, "b"), ("bench_end", 20.0, None), ("done", 20.25, None))
    got: dict[str, float] = {}
    phases.from_runs(got, [run], {"a", "b"})
    assert got == {"startup": 1.0, "load": 2.5, "cases": 1.0, "timed_calls": 5.75}


def test_a_run_that_never_got_ready_is_all_start_up_and_load():
    # the submission's import raised: its time is the load's, not the cases'
    run = _run(0.0, ("loading", 0.5, None), ("load_error", 2.0, None))
    got: dict[str, float] = {}
    phases.from_runs(got, [run], set())
    assert got == {"startup": 0.5, "load": 1.5}


def test_a_preflight_that_failed_is_all_start_up():
    run = _run(0.0, ("grader_fault", 0.75, None))
    got: dict[str, float] = {}
    phases.from_runs(got, [run], set())
    assert got == {"startup": 0.75}


def test_a_slow_import_is_the_loads_time_in_a_real_grading(tmp_path):
    """The runner says when the trusted start-up ended and the candidate's import began."""
    reference = (Path(__file__).parents[1] / "graders/backprop_mlp/reference.py").read_text(encoding="utf-8")
    slow = tmp_path / "slow_import.py"
    slow.write_text("import time\ntime.sleep(1.5)  # a long module-level build\n" + reference, encoding="utf-8")
    result = grade("backprop_mlp", slow, device="cpu", throughput=False)
    assert result.status.value == "passed", result.summary
    assert result.phases["load"] >= 1.5
    assert result.phases["startup"] < 1.5      # the sleep is not counted twice
