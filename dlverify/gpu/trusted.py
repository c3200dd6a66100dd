"""Trusted timings in the host's own process: torch's baseline, and the harness's own cost.

Both run the worker's loop (sandbox/gpu_timing.py, loaded by path) on the
same inputs: torch's implementation of the exercise, and a no-op call whose
window is what the harness itself costs (the calibration the host's
wall-clock floor subtracts; crosscheck.py).
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, Callable

from ..launch.jobs import PlannedBench
from ..packs.loading import GraderContext, Pack
from . import harness, worker_harness
from .baselines import baseline_for


def _time_trusted(slots, order: list[int], clock, *, stop=None, use_triton: bool = False,
                  contexts: dict | None = None) -> tuple[Any, float]:
    """Warm up on slot 0, then time the ordered slots like the child does; (timing, host window).

    slots may be made on demand (gpu_timing.LazySlots): each is made when the loop reaches it."""
    H = harness()
    contexts = contexts or {}
    H.warm_up(slots[0], clock, use_triton=use_triton, **contexts)
    clock.sync()
    began = time.perf_counter()
    timing = H.run_timed(H.LazySlots(len(order), lambda j: slots[order[j]]), clock, use_triton=use_triton,
                         **contexts, **({"stop": stop} if stop else {}))
    return timing, time.perf_counter() - began


def driver_splits_call(exercise_id: str) -> bool:
    """Whether the exercise's driver has a bench_call (sandbox/gpu_worker.split_call), decided here.

    Read from the driver's source, not imported (some drivers import the child's contract.py by
    name), and not taken from the worker's "exact", which candidate code could set.
    """
    import ast

    from .. import paths

    tree = ast.parse((paths.sandbox_dir() / "drivers" / f"{exercise_id}.py").read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == "bench_call" for node in tree.body)


_guards_module = None


def _rule_watch(rules, device: str, clock) -> dict:
    """The worker's per-call contexts for these rules (guards.watching_call, BenchWorker.quiet), not installed.

    In the worker each timed call enters the rule watch (a torch function mode and a dispatch
    mode, built anew per call) and each collect enters it again: that cost is in the host's
    window, so the calibration pays it too. Nothing is blocked in this process.
    """
    global _guards_module
    if rules is None or not rules.forbidden_ops:
        return {}
    if _guards_module is None:
        from .. import paths
        from ..packs.loading import load_module_from_path, sandbox_module

        sandbox_module("import_guard")  # guards.py imports it by that name, as in the worker
        _guards_module = load_module_from_path("_dlverify_sandbox_guards", paths.sandbox_dir() / "guards.py")
    # The launch rule is left out: an honest call launches its kernel, so the worker never reports it.
    # Every file here is trusted ("/"): the watch still walks the stack and checks each op as it
    # does in the worker, so it costs what it costs there, but it judges nothing in the host.
    guards = _guards_module.Guards({"forbidden_ops": list(rules.forbidden_ops)}, lambda rule, detail: None,
                                   trusted=("/",))
    worker = worker_harness().BenchWorker(None, None, guards, device, "torch", None, clock=clock)
    return {"guard": guards.watching_call, "quiet": worker.quiet}


def calibrate(outputs: dict, calls: int, clock, device: str = "cuda", *, use_triton: bool = False,
              rules=None, make_inputs: Callable[[int], Any] | None = None) -> float:
    """Seconds the harness itself takes for `calls` calls whose outputs look like these (a no-op call).

    use_triton must match the worker's digest (gpu_timing.needs_triton_digest of the exercise's rules);
    device is where the worker's outputs were when it digested them (the host, for a driver without
    bench_call: its run() copies them back); rules, the exercise's, put the worker's rule watch around
    each call as it is there; make_inputs(slot), for a generated bench, makes each call's inputs
    the way the worker did (inside the window there too).
    """
    H = harness()
    on_device = H.to_device(outputs, device)
    null = H.Prepared(lambda: None, lambda _: on_device)

    def slot(i: int):
        if make_inputs is not None:
            make_inputs(i)
        return null

    _, window = _time_trusted(H.LazySlots(calls + 1, slot), list(range(1, calls + 1)), clock, use_triton=use_triton,
                              stop=lambda values, elapsed, left: None if left > 0 else "pool",
                              contexts=_rule_watch(rules, device, clock))
    return window


def time_torch(exercise_id: str, bench: PlannedBench, ctx: GraderContext, clock,
               device: str = "cuda", calls: int | None = None) -> tuple[list[float], str]:
    """torch's own implementation on the same inputs, same loop: per-call seconds, and what it was.

    calls: at most this many timed calls (the submission's own count)."""
    import torch

    H = harness()
    base = baseline_for(exercise_id, bench.case.params, device, ctx)
    if base is None:
        return [], ""
    order = H.timed_slots(bench.slots)[:calls]
    with base.context():
        slots = H.LazySlots(bench.slots, lambda s: base.prepare(H.to_device(bench.device_inputs(s), device)))
        timing, _ = _time_trusted(slots, order, clock)
    del slots
    if device == "cuda":
        torch.cuda.empty_cache()
    return timing.seconds, base.label


def _prepare_like_the_worker(pack: Pack, ctx: GraderContext, bench: PlannedBench, device: str) -> Callable[[int], Any]:
    """What the worker does per call of a generated bench, inside the host-clocked window: make the
    inputs and let the driver prepare the call (cuda_matmul pads A and B into NaN-filled buffers),
    here with a submission whose entry points do nothing. Left out of the calibration, it would
    raise the host's floor above an honest kernel's time (seen on an H200: 4.30 ms against 3.96)."""
    idle = SimpleNamespace(**{name: (lambda *args, **kwargs: None) for name in pack.exercise.entry_points})

    def prepare(slot: int):
        return worker_harness().split_call(ctx.driver, idle, bench.case.params, bench.device_inputs(slot), device)

    return prepare
