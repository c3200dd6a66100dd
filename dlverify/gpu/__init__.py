"""GPU throughput, host side: speed of light, work per call, statistics, the cross-check, scores.

The child's half is sandbox/gpu_timing.py (with gpu_digest.py and
gpu_worker.py). The host loads those same files by path (`harness()`,
`worker_harness()`) to run trusted code the same way (the torch baseline, the
calibration of the harness's own cost) and to recompute digests of what came
back, so one definition of the loop and the digest serves both sides.
"""

from __future__ import annotations

from types import ModuleType


def harness() -> ModuleType:
    """sandbox/gpu_timing.py, ours, loaded by path (with gpu_digest.py, which it imports by name)."""
    from ..packs.loading import sandbox_module

    sandbox_module("gpu_digest")
    return sandbox_module("gpu_timing")


def worker_harness() -> ModuleType:
    """sandbox/gpu_worker.py: the worker's BenchWorker and split_call, for trusted runs here."""
    from ..packs.loading import sandbox_module

    harness()
    return sandbox_module("gpu_worker")
