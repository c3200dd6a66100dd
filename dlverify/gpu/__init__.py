"""GPU throughput, host side: speed of light, work per call, statistics, the cross-check, scores.

The child's half is sandbox/gpu_timing.py. The host loads that same file by
path (`harness()`) to run trusted code the same way (the torch baseline, the
calibration of the harness's own cost) and to recompute digests of what came
back, so one definition of the loop and the digest serves both sides.
"""

from __future__ import annotations

from types import ModuleType

_harness: ModuleType | None = None


def harness() -> ModuleType:
    """sandbox/gpu_timing.py, ours, loaded by path (never by import name)."""
    global _harness
    if _harness is None:
        from .. import paths
        from ..packs import load_module_from_path

        _harness = load_module_from_path("_dlverify_gpu_timing", paths.sandbox_dir() / "gpu_timing.py")
    return _harness
