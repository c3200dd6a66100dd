"""The reference's GPU figures, kept per runner: timed once, not in every grading.

Every GPU grading used to start a second sandbox to time the pack's own
reference on the same shapes: 14 s of a 52 s triton_softmax grading on an
H200, 25 s of cuda_matmul's 59 s (its extension built again). The reference
is our code; on one GPU, driver and software stack its per-call time does not
change from one candidate to the next, and it only feeds `vs_reference` (the
score is against the speed of light and torch). So its figure is kept in the
runner's cache, keyed by everything that could change it: the GPU and its
driver, torch, Triton and dlverify, the reference, the driver and the timing
harness (their bytes), and the case's parameters. Any change is a new key,
timed afresh. DLVERIFY_REFERENCE_CACHE=0 times the reference in every grading.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path

from .. import __version__, paths
from ..launch.jobs import PlannedBench
from ..packs.loading import Pack
from .crosscheck import CrossChecked
from .sol import _read_cache, _write_cache, cache_dir

FILE = "reference_figures.json"


class ReferenceCache:
    """Figures of one pack's reference on one device, read and written in the runner's cache folder."""

    def __init__(self, pack: Pack, identity: dict[str, str | None], folder: Path | None = None):
        self.pack, self.identity = pack, identity
        self.path = (folder or cache_dir()) / FILE
        harness_files = [pack.reference_path, paths.sandbox_dir() / "drivers" / f"{pack.exercise.id}.py",
                         paths.sandbox_dir() / "gpu_timing.py"]
        digest = hashlib.sha256()
        for path in harness_files:
            digest.update(path.read_bytes())
        self.code = digest.hexdigest()

    @classmethod
    def for_device(cls, pack: Pack, device: str) -> "ReferenceCache | None":
        """The cache for this runner's GPU, or None when it is switched off or not a GPU."""
        import torch

        if device != "cuda" or not torch.cuda.is_available() or os.environ.get("DLVERIFY_REFERENCE_CACHE", "1") == "0":
            return None
        import triton

        from ..machine import driver_version

        return cls(pack, {"device": torch.cuda.get_device_name(), "driver": driver_version(),
                          "torch": torch.__version__, "triton": triton.__version__, "dlverify": __version__})

    def key(self, bench: PlannedBench) -> str:
        text = json.dumps([self.pack.exercise.id, self.code, self.identity, bench.case.params], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, bench: PlannedBench) -> tuple[CrossChecked, str] | None:
        """(figure, when it was measured), or None."""
        entry = _read_cache(self.path).get(self.key(bench))
        try:
            return CrossChecked(**entry["figure"]), str(entry["measured_at"])
        except (TypeError, KeyError):
            return None

    def put(self, bench: PlannedBench, figure: CrossChecked) -> None:
        data = _read_cache(self.path)
        data[self.key(bench)] = {
            "exercise": self.pack.exercise.id, "case": bench.case.name, **self.identity,
            "figure": figure.to_dict(),
            "measured_at": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        }
        _write_cache(self.path, data)
