"""The speed of light of this device, measured once and cached, with the datasheet peak beside it.

Two ceilings bound every kernel we grade:

- memory: a device-to-device copy of a 1 GiB buffer (torch's copy_, i.e. a
  cudaMemcpyAsync), counted as bytes read + bytes written over time. This is
  what the memory system really delivers, typically 85-92% of the datasheet.
- compute: a large cuBLAS matmul per dtype (8192^3; float32 with TF32 off,
  so it is the non-tensor-core peak the cuda_matmul exercise can reach).

Each is the best of several timed repetitions after a warm-up: a ceiling is a
best case, not a typical one. The result is cached in
$DLVERIFY_CACHE_DIR (default ~/.cache/dlverify)/speed_of_light.json, keyed by
device name, driver and torch version, so it is measured once per machine
and re-measured when any of them changes. It is measured in the host process,
by trusted code, on an idle GPU (between sandbox runs).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..machine import cpu_name, driver_version  # noqa: F401  (driver_version: part of this module's interface)
from . import harness
from .workload import Work

COPY_BYTES = 1 << 30        # per buffer; halved until it fits in an eighth of free memory
MATMUL_N = 8192             # C (N, N) = A (N, N) @ B (N, N)
REPETITIONS = 10
CPU_COPY_BYTES = 64 << 20   # the CPU stand-in is indicative only and must stay quick
CPU_MATMUL_N = 512
LAYOUT = 2                  # bump when what is measured changes: cached figures are then measured again


@dataclass(frozen=True)
class Datasheet:
    name: str
    pattern: str                  # matched against torch.cuda.get_device_name()
    gbps: float                   # memory bandwidth, GB/s (1e9 bytes)
    tflops: dict[str, float]      # dense peaks (no 2:4 sparsity), TFLOP/s, per dtype
    source: str


# Dense figures: NVIDIA quotes tensor-core peaks "with sparsity"; dense is half of that.
# float32 is the non-tensor-core (FMA) peak; TF32 is not used by anything graded here.
DATASHEETS: tuple[Datasheet, ...] = (
    Datasheet("H100 NVL", r"H100.*NVL", 3900, {"bfloat16": 835.5, "float16": 835.5, "float32": 60.0},
              "NVIDIA H100 NVL datasheet (BF16/FP16 1671 TFLOPS sparse -> 835.5 dense; FP32 60; HBM3 3.9 TB/s)"),
    Datasheet("H100 PCIe", r"H100.*PCIe", 2000, {"bfloat16": 756.5, "float16": 756.5, "float32": 51.2},
              "NVIDIA H100 PCIe datasheet (BF16/FP16 1513 TFLOPS sparse -> 756.5 dense; FP32 51.2; HBM2e 2.0 TB/s)"),
    Datasheet("H100 SXM", r"H100", 3350, {"bfloat16": 989.4, "float16": 989.4, "float32": 66.9},
              "NVIDIA H100 SXM5 datasheet (BF16/FP16 1979 TFLOPS sparse -> 989.4 dense; FP32 66.9; HBM3 3.35 TB/s)"),
    Datasheet("H200 NVL", r"H200.*NVL", 4800, {"bfloat16": 835.5, "float16": 835.5, "float32": 60.0},
              "NVIDIA H200 NVL product brief (BF16/FP16 1671 TFLOPS sparse -> 835.5 dense; FP32 60; HBM3e 4.8 TB/s)"),
    Datasheet("H200 SXM", r"H200", 4800, {"bfloat16": 989.4, "float16": 989.4, "float32": 66.9},
              "NVIDIA H200 SXM product brief (BF16/FP16 1979 TFLOPS sparse -> 989.4 dense; FP32 67; HBM3e 4.8 TB/s)"),
    Datasheet("A100 SXM4 80GB", r"A100.*SXM.*80", 2039, {"bfloat16": 312.0, "float16": 312.0, "float32": 19.5},
              "NVIDIA A100 datasheet (BF16/FP16 312 TFLOPS dense; FP32 19.5; HBM2e 2039 GB/s)"),
    Datasheet("A100 PCIe 80GB", r"A100.*80GB.*PCIe|A100.*PCIe.*80", 1935,
              {"bfloat16": 312.0, "float16": 312.0, "float32": 19.5},
              "NVIDIA A100 datasheet (BF16/FP16 312 TFLOPS dense; FP32 19.5; HBM2e 1935 GB/s)"),
    Datasheet("A100 40GB", r"A100", 1555, {"bfloat16": 312.0, "float16": 312.0, "float32": 19.5},
              "NVIDIA A100 datasheet (BF16/FP16 312 TFLOPS dense; FP32 19.5; HBM2 1555 GB/s)"),
    Datasheet("L4", r"\bL4\b", 300, {"bfloat16": 121.0, "float16": 121.0, "float32": 30.3},
              "NVIDIA L4 datasheet (BF16/FP16 242 TFLOPS sparse -> 121 dense; FP32 30.3; GDDR6 300 GB/s)"),
    Datasheet("RTX 4090", r"RTX 4090", 1008, {"bfloat16": 165.2, "float16": 165.2, "float32": 82.6},
              "NVIDIA Ada Lovelace architecture whitepaper, GeForce RTX 4090 (FP16/BF16 tensor with FP32 "
              "accumulate 165.2 TFLOPS dense, 330.3 with FP16 accumulate; FP32 82.6; GDDR6X 1008 GB/s)"),
)


def datasheet_for(device_name: str) -> Datasheet | None:
    for sheet in DATASHEETS:
        if re.search(sheet.pattern, device_name, re.IGNORECASE):
            return sheet
    return None


@dataclass
class SpeedOfLight:
    key: str
    device: str                   # "NVIDIA H100 80GB HBM3", or the CPU's model name
    kind: str                     # "cuda" | "cpu"
    driver: str
    cuda: str | None
    torch: str
    copy_gbps: float              # device-to-device copy: (read + written bytes) / s / 1e9
    fill_gbps: float              # writing a buffer (the L2 flush's cost): bytes / s / 1e9
    matmul_tflops: dict[str, float] = field(default_factory=dict)
    datasheet: dict[str, Any] | None = None
    measured_at: str = ""
    method: str = ""

    def ceiling(self, work: Work) -> float | None:
        """The measured speed of light for this work: GB/s (memory-bound) or TFLOP/s (compute-bound)."""
        return self.copy_gbps if work.bound == "memory" else self.matmul_tflops.get(work.dtype)

    def datasheet_ceiling(self, work: Work) -> float | None:
        if not self.datasheet:
            return None
        return self.datasheet["gbps"] if work.bound == "memory" else self.datasheet["tflops"].get(work.dtype)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- identity and cache

def cache_dir() -> Path:
    override = os.environ.get("DLVERIFY_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dlverify"


def cache_key(device: str, driver: str, torch_version: str) -> str:
    return f"{device} | driver {driver} | torch {torch_version} | sol v{LAYOUT}"


def _identity(kind: str) -> tuple[str, str, str | None, str]:
    import torch

    if kind == "cuda":
        return torch.cuda.get_device_name(), driver_version(), torch.version.cuda, torch.__version__
    return cpu_name(), "n/a", None, torch.__version__


def speed_of_light(kind: str = "cuda", *, refresh: bool = False, folder: Path | None = None) -> SpeedOfLight:
    """This device's speed of light: from the cache when it has this device, driver and torch."""
    device, driver, cuda, torch_version = _identity(kind)
    key = cache_key(device, driver, torch_version)
    path = (folder or cache_dir()) / "speed_of_light.json"
    cached = _read_cache(path)
    if not refresh and key in cached:
        try:
            return SpeedOfLight(**cached[key])
        except TypeError:
            pass  # an older layout: measure again
    sol = (measure_cuda if kind == "cuda" else measure_cpu)(key, device, driver, cuda, torch_version)
    cached[key] = sol.to_dict()
    _write_cache(path, cached)
    return sol


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache costs a re-measurement next time, nothing else


# ----------------------------------------------------------------------------- measuring

def best_seconds(fn, clock, repetitions: int = REPETITIONS, warmup: int = 3) -> float:
    """The fastest of `repetitions` timed calls of fn, after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    clock.sync()
    marks = []
    for _ in range(repetitions):
        start = clock.mark()
        fn()
        marks.append((start, clock.mark()))
    clock.sync()
    return min(clock.seconds(a, b) for a, b in marks)


@contextmanager
def ieee_float32():
    """float32 matmuls in full precision (no TF32), whichever switch this torch has."""
    import torch

    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        before = matmul.fp32_precision
        matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision = before
    else:
        before = matmul.allow_tf32
        matmul.allow_tf32 = False
        try:
            yield
        finally:
            matmul.allow_tf32 = before


def _matmul_tflops(torch, n: int, dtype, device: str, clock, repetitions: int) -> float:
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)  # (N, N)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)  # (N, N)
    out = torch.empty(n, n, device=device, dtype=dtype)
    seconds = best_seconds(lambda: torch.matmul(a, b, out=out), clock, repetitions)  # (N, N) @ (N, N)
    return 2.0 * n ** 3 / seconds / 1e12


def measure_cuda(key: str, device: str, driver: str, cuda: str | None, torch_version: str) -> SpeedOfLight:
    import torch

    clock = harness().CudaClock()
    free, _ = torch.cuda.mem_get_info()
    size = COPY_BYTES
    while size > (64 << 20) and 2 * size > free // 4:
        size //= 2
    src = torch.empty(size, dtype=torch.uint8, device="cuda").random_(0, 256)
    dst = torch.empty_like(src)
    copy_s = best_seconds(lambda: dst.copy_(src), clock)   # read size bytes, write size bytes
    fill_s = best_seconds(lambda: dst.zero_(), clock)       # write size bytes
    src = dst = None  # free the buffers before the matmuls allocate theirs
    tflops = {}
    for dtype in (torch.bfloat16, torch.float16):
        tflops[str(dtype).replace("torch.", "")] = _matmul_tflops(torch, MATMUL_N, dtype, "cuda", clock, REPETITIONS)
    with ieee_float32():
        tflops["float32"] = _matmul_tflops(torch, MATMUL_N, torch.float32, "cuda", clock, REPETITIONS)
    torch.cuda.empty_cache()
    sheet = datasheet_for(device)
    return SpeedOfLight(
        key=key, device=device, kind="cuda", driver=driver, cuda=cuda, torch=torch_version,
        copy_gbps=2 * size / copy_s / 1e9, fill_gbps=size / fill_s / 1e9, matmul_tflops=tflops,
        datasheet=asdict(sheet) if sheet else None, measured_at=_now(),
        method=(f"best of {REPETITIONS} after 3 warm-up calls, CUDA events: copy_ and zero_ of a "
                f"{size >> 20} MiB buffer; torch.matmul {MATMUL_N}^3 per dtype (float32 with TF32 off)"),
    )


def measure_cpu(key: str, device: str, driver: str, cuda: str | None, torch_version: str) -> SpeedOfLight:
    """An indicative CPU stand-in (benchmarks and tests on machines without a GPU)."""
    import torch

    clock = harness().WallClock()
    src = torch.ones(CPU_COPY_BYTES, dtype=torch.uint8)
    dst = torch.empty_like(src)
    copy_s = best_seconds(lambda: dst.copy_(src), clock, repetitions=5, warmup=1)
    fill_s = best_seconds(lambda: dst.zero_(), clock, repetitions=5, warmup=1)
    tflops = {str(dtype).replace("torch.", ""): _matmul_tflops(torch, CPU_MATMUL_N, dtype, "cpu", clock, 5)
              for dtype in (torch.float32, torch.float64, torch.bfloat16)}
    return SpeedOfLight(
        key=key, device=device, kind="cpu", driver=driver, cuda=cuda, torch=torch_version,
        copy_gbps=2 * CPU_COPY_BYTES / copy_s / 1e9, fill_gbps=CPU_COPY_BYTES / fill_s / 1e9,
        matmul_tflops=tflops, datasheet=None, measured_at=_now(),
        method=(f"indicative CPU figures: best of 5, perf_counter: copy_ of {CPU_COPY_BYTES >> 20} MiB; "
                f"torch.matmul {CPU_MATMUL_N}^3 (threads: {torch.get_num_threads()})"),
    )


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
