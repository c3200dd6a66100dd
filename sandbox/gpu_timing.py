"""GPU timing in the sandbox: CUDA events around each call, an L2 flush before it, fresh inputs.

This file is the worker's half (BenchWorker) and what both sides share (the
loop, the clocks, the digest, the rules); the runner's half is in bench.py.
Both processes of the child take part (see child.py and worker.py):

    runner                                   worker (candidate code)
    bench_load  x pool size  ------------>   inputs onto the device, one slot each
    bench_warm  ------------------------->   warm-up by time on slot 0 only
    gpu_bench_start -> host
    bench_run   ------------------------->   per remaining slot: flush L2, event, call,
                                             event; digest of the outputs
    gpu_bench_end (times, digests) -> host
    draws the calls to check (secrets)
    gpu_bench_drawn -> host
    bench_output x drawn  --------------->   those calls' outputs, as data
    bench_output -> host (each)

Nothing the worker says is trusted. The host clocks the window between
gpu_bench_start and gpu_bench_end itself, so a patched timer or work left on
a side stream cannot make a call look faster than that window allows
(dlverify/gpu/crosscheck.py). The digests of every call's outputs reach the
runner before it draws which calls are checked, with randomness the worker
cannot see (the runner is another process, not dumpable), so skipping the
work of a call and computing its answer only if asked is a digest mismatch.
Each timed call has a pool slot of its own: an answer cached from an earlier
call never applies.

This file holds what both sides share (the rules, the clocks, the loop); the
digests are in gpu_digest.py and the worker's request handling in
gpu_worker.py. The host loads these same files (dlverify/gpu/__init__.py) for
trusted work (the torch baseline, the harness's calibration, the digest of
what came back), so nothing in them is imported at module level but the
standard library and each other.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

# The digests live beside this file (gpu_digest.py); the names are part of the harness's interface.
from gpu_digest import (DIGEST_BLOCK, _triton_partials, digest, digest_parts, finish_digest,  # noqa: F401
                        needs_triton_digest)

# Warm-up by time, not by count: the first call pays for compilation and
# autotuning, then calls go on until WARMUP_SECONDS have passed after it
# (clocks ramp up, the allocator settles). WARMUP_CAP_SECONDS bounds it all.
WARMUP_SECONDS = 0.3
WARMUP_CAP_SECONDS = 60.0
# Stop once the standard error of the mean is below 1% of the mean, after at
# least MIN_CALLS calls; or when the pool has no fresh input left; or after
# TIME_CAP_SECONDS of timed calls. dlverify/gpu/stats.py uses this same rule.
TARGET_REL_SEM = 0.01
MIN_CALLS = 5
TIME_CAP_SECONDS = 10.0
# Calls between two synchronisations: the GPU runs a round back to back, and
# the events are read (and the rule checked) at the round's end.
ROUND = 4
# Calls whose outputs come back to be checked, per case: each crosses the
# channel, and GPU-sized outputs are hundreds of MiB.
REVEALED_CALLS = 2
BENCH_OPS = ("bench_gen", "bench_load", "bench_warm", "bench_run", "bench_output", "bench_free")
# Bench inputs made on the device from a seed per call (drivers with bench_inputs): slot 0
# for the warm-up, up to GENERATED_CALLS timed calls, as many as the stopping rule wants
# and the device's memory allows (every timed call's outputs stay there until the draw).
GENERATED_CALLS = 100
OUTPUT_MEMORY_SHARE = 0.4       # of the device memory free after the warm-up
CPU_OUTPUT_MEMORY = 1 << 30
# After the L2 flush, the GPU is held busy this long before the start event: the candidate's
# call (under the rule watch, in Python) is then queued before the GPU reaches the event, so
# the event times the GPU's work, not the host's launch overhead (0.1-0.3 ms on an H200,
# longer than a 256 MiB softmax).
HOLD_SECONDS = 0.002


# ----------------------------------------------------------------------------- shared rules

def timed_slots(pool_size: int) -> list[int]:
    """Pool slots the timed calls use, in order; slot 0 is the warm-up's alone.

    With a pool of one the warm-up input is timed too (there is nothing else).
    The host applies this same rule (loaded by path) to know each call's input.
    """
    return list(range(1, pool_size)) if pool_size > 1 else [0]


def flush_size(l2_bytes: int) -> int:
    """Bytes written before each timed call: twice the L2, in whole MiB, at least 1 MiB."""
    mib = 1 << 20
    return max(mib, -(-2 * max(0, int(l2_bytes)) // mib) * mib)


def relative_sem(values: list[float]) -> float:
    """Standard error of the mean over the mean; inf with fewer than two values."""
    n = len(values)
    if n < 2:
        return math.inf
    mean = sum(values) / n
    if mean <= 0:
        return math.inf
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(var / n) / mean


def stop_reason(values: list[float], elapsed: float, left: int, *, target: float = TARGET_REL_SEM,
                min_calls: int = MIN_CALLS, cap: float = TIME_CAP_SECONDS) -> str | None:
    """Why the timed phase ends now ("precise", "pool", "time"), or None to go on."""
    if len(values) >= min_calls and relative_sem(values) < target:
        return "precise"
    if left <= 0:
        return "pool"
    if elapsed >= cap:
        return "time"
    return None


def bench_seeds(seed: int, count: int) -> list[int]:
    """One seed per slot of a generated bench, derived from the case's (secret-mixed) seed.

    The host derives the same list to regenerate the inputs of the calls it checks."""
    import hashlib

    return [int.from_bytes(hashlib.blake2b(f"{int(seed)}:{i}".encode(), digest_size=8).digest(), "big") >> 1
            for i in range(count)]


def draw(calls: int, count: int = REVEALED_CALLS) -> list[int]:
    """Which calls get checked: the OS's randomness, drawn after every call is committed."""
    return sorted(secrets.SystemRandom().sample(range(calls), min(count, calls)))


# ----------------------------------------------------------------------------- clocks

class CudaClock:
    """CUDA events on the current stream, and a buffer written to flush the L2."""

    kind = "cuda-events"

    def __init__(self, device: Any = None):
        import torch

        self._torch = torch
        index = device if device is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        # An unknown L2 size: flush 256 MiB, twice any L2 shipped so far.
        l2 = int(getattr(props, "L2_cache_size", 0) or (128 << 20))
        self.l2_bytes = l2
        self.flush_bytes = flush_size(l2)
        self._buffer = torch.empty(self.flush_bytes, dtype=torch.uint8, device=torch.device("cuda", index))
        self._sleep = getattr(torch.cuda, "_sleep", None)
        self.hold_cycles = self._cycles_for(HOLD_SECONDS) if self._sleep is not None else 0

    def _cycles_for(self, seconds: float) -> int:
        """GPU clock cycles that the spin kernel takes for `seconds` (timed once, by events)."""
        probe = 1 << 20
        self._sleep(probe)  # the first launch loads the kernel
        start = self.mark()
        self._sleep(probe)
        end = self.mark()
        self.sync()
        elapsed = max(self.seconds(start, end), 1e-7)
        return max(1, int(seconds * probe / elapsed))

    def hold(self) -> None:
        """Keep the GPU busy for HOLD_SECONDS without touching memory (the L2 stays as it is)."""
        if self.hold_cycles:
            self._sleep(self.hold_cycles)

    def flush(self) -> None:
        # Writes every byte, so whatever the last call left in L2 is evicted and
        # no call starts with its inputs already cached; then the hold (above).
        self._buffer.zero_()
        self.hold()

    def mark(self):
        event = self._torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def sync(self) -> None:
        self._torch.cuda.synchronize()

    def seconds(self, start, end) -> float:
        return start.elapsed_time(end) / 1e3  # elapsed_time is in ms


class WallClock:
    """The CPU stand-in with the same interface: perf_counter marks, an optional flush buffer."""

    kind = "perf-counter"

    def __init__(self, flush_bytes: int = 0):
        self.flush_bytes = flush_bytes
        self._buffer = bytearray(flush_bytes) if flush_bytes else None

    def flush(self) -> None:
        if self._buffer is not None:
            self._buffer[:] = bytes(len(self._buffer))

    def hold(self) -> None:
        pass

    def mark(self) -> float:
        return time.perf_counter()

    def sync(self) -> None:
        pass

    def seconds(self, start: float, end: float) -> float:
        return end - start


# ----------------------------------------------------------------------------- moving data

def _is_tensor(value) -> bool:
    return hasattr(value, "element_size") and hasattr(value, "detach")


def to_device(value, device: str):
    """Tensors (in dicts, lists, tuples) onto the device; everything else unchanged."""
    if _is_tensor(value):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def to_host(value):
    if _is_tensor(value):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: to_host(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_host(v) for v in value)
    return value


# ----------------------------------------------------------------------------- the timed loop

@dataclass
class Prepared:
    """One pool slot ready to run: call() is the timed part, collect() turns its result into outputs."""

    call: Callable[[], Any]
    collect: Callable[[Any], dict]


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)     # per timed call, by the clock
    digests: list[list] = field(default_factory=list)      # per timed call
    outputs: list[dict] = field(default_factory=list)      # per timed call, still on the device
    stop: str = ""


class LazySlots:
    """Slots made when the loop reaches them (generated benches): one call's inputs at a time.

    make(i) prepares slot i; a slice prepares only the slots in it, so at most a round's inputs
    are on the device at once, beside the outputs the timed calls keep."""

    def __init__(self, count: int, make: Callable[[int], Prepared]):
        self.count, self.make = count, make

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.make(i) for i in range(*index.indices(self.count))]
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self.make(index)


def output_bytes(outputs: dict) -> int:
    """Bytes of the tensors and arrays among a call's outputs (what keeping them costs)."""
    total = 0
    for value in outputs.values():
        if _is_tensor(value):
            total += value.numel() * value.element_size()
        elif hasattr(value, "nbytes"):
            total += int(value.nbytes)
    return total


def _nothing():
    return contextlib.nullcontext()


def warm_up(slot: Prepared, clock, *, guard=_nothing, quiet=_nothing, use_triton: bool = False,
            seconds: float | None = None, cap: float | None = None, seen: dict | None = None) -> tuple[int, float]:
    """Run one slot until `seconds` have passed after its first call; returns (calls, seconds).

    seen, when given, gets "output_bytes": the size of one call's outputs."""
    seconds = WARMUP_SECONDS if seconds is None else seconds
    cap = WARMUP_CAP_SECONDS if cap is None else cap
    began = time.perf_counter()
    calls = 0
    first_done = None
    while True:
        clock.flush()
        with guard():
            result = slot.call()
        with quiet():  # the digest too: it reads the outputs through methods a submission could patch
            outputs = slot.collect(result)
            finish_digest(digest_parts(outputs, use_triton=use_triton))  # the digest path warms up too
        if seen is not None:
            seen["output_bytes"] = output_bytes(outputs)
        del outputs, result
        clock.sync()
        calls += 1
        now = time.perf_counter()
        first_done = first_done or now
        if now - first_done >= seconds or now - began >= cap:
            return calls, now - began


def run_timed(slots: list[Prepared], clock, *, guard=_nothing, quiet=_nothing, use_triton: bool = False,
              round_size: int = ROUND, stop: Callable[..., str | None] = stop_reason) -> Timing:
    """Time one call per slot, in order, until the stopping rule says enough.

    guard: the context the candidate's call runs in (the worker's rule watch);
    it is entered before the start event and left after the end event, so its
    own cost stays outside the events (the clock's hold after the flush keeps the
    GPU busy meanwhile, so no idle time lands between the events either). quiet:
    the context for collect (the watch without the per-call launch rule).
    """
    timing = Timing()
    began = time.perf_counter()
    i = 0
    while i < len(slots):
        pending = []
        for slot in slots[i:i + round_size]:
            clock.flush()
            with guard():
                start = clock.mark()
                result = slot.call()
                end = clock.mark()
            with quiet():
                outputs = slot.collect(result)
                pending.append((start, end, outputs, digest_parts(outputs, use_triton=use_triton)))
        clock.sync()
        for start, end, outputs, parts in pending:
            timing.seconds.append(clock.seconds(start, end))
            timing.digests.append(finish_digest(parts))
            timing.outputs.append(outputs)
        i += len(pending)
        timing.stop = stop(timing.seconds, time.perf_counter() - began, len(slots) - i) or ""
        if timing.stop:
            break
    timing.stop = timing.stop or "pool"
    return timing
