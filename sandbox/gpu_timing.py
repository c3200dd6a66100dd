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

The host loads this same file by path for trusted work (the torch baseline,
the harness's calibration, the digest of what came back), so nothing here is
imported at module level but the standard library.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

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
DIGEST_BLOCK = 4096
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


# ----------------------------------------------------------------------------- digests

tl = None  # triton.language, bound on first use (the kernel below is compiled lazily)


def _digest_kernel(words_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # one int64 partial sum per block of words: read n words once, write n / BLOCK sums
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    words = tl.load(words_ptr + offs, mask=offs < n, other=0).to(tl.int64)
    tl.store(out_ptr + pid, tl.sum(words, axis=0))


_kernel = None


def _triton_partials(words):
    """Partial sums by a Triton kernel: for workers whose rules block torch's sum (triton_softmax)."""
    global tl, _kernel
    import torch

    if _kernel is None:
        import triton
        import triton.language as language

        tl = language
        _kernel = triton.jit(_digest_kernel)
    blocks = -(-words.numel() // DIGEST_BLOCK)
    out = torch.empty(max(blocks, 1), dtype=torch.int64, device=words.device)
    if blocks:
        _kernel[(blocks,)](words, out, words.numel(), BLOCK=DIGEST_BLOCK)
    else:
        out.zero_()
    return out


def needs_triton_digest(forbidden_ops) -> bool:
    """Whether an exercise's rules block torch's sum (triton_softmax, cuda_matmul): then a Triton kernel sums."""
    return "sum" in set(forbidden_ops or ())


def digest_parts(outputs: dict, *, use_triton: bool = False) -> list:
    """Start a digest of every output: device tensors are summed on the device, without a sync.

    A tensor's part is the sum of its raw bits read as integers (2-byte
    elements as int16, 1-byte as uint8, wider ones as int32 words), so any
    change to any element changes it unless another change cancels it
    exactly. Only ops every exercise allows are used: views, copies and, where
    the rules block torch's sum, a Triton kernel (or, where Triton is missing or fails, a copy
    to the host and numpy).
    """
    parts = []
    for key in sorted(outputs, key=str):
        value = outputs[key]
        if hasattr(value, "detach") and hasattr(value, "element_size"):  # a torch tensor
            import torch

            flat = value.detach().contiguous().reshape(-1)
            if flat.dtype == torch.bool:
                flat = flat.to(torch.uint8)
            words = flat.view({1: torch.uint8, 2: torch.int16}.get(flat.element_size(), torch.int32))
            total = _numpy_sum(words.numpy()) if words.device.type == "cpu" else _device_total(words, use_triton)
            parts.append([str(key), str(flat.dtype).replace("torch.", ""), flat.numel(), total])
        elif hasattr(value, "dtype") and hasattr(value, "tobytes"):  # a numpy array
            import numpy as np

            flat = np.ascontiguousarray(value).reshape(-1)
            size = flat.dtype.itemsize
            words = flat.view({1: np.uint8, 2: np.int16}.get(size, np.int32)) if size <= 2 or size % 4 == 0 \
                else flat.view(np.uint8)
            parts.append([str(key), str(flat.dtype), int(flat.size), _numpy_sum(words)])
        else:  # a number or a string: small, kept as its repr
            parts.append([str(key), type(value).__name__, 1, repr(value)[:64]])
    return parts


def _device_total(words, use_triton: bool):
    """The sum of a device tensor's words, left on the device (no sync): torch's sum, or Triton's."""
    import torch

    if not use_triton:
        return words.sum(dtype=torch.int64).reshape(1)
    try:
        return _triton_partials(words)
    except Exception:  # noqa: BLE001
        # No Triton, or its compiler failing in this sandbox: the grader's problem, never the
        # candidate's. The same sum through the host is slower (the host's floor may show it) but
        # gives the same digest, where an exception here would fail the candidate's timed case.
        return _numpy_sum(words.cpu().numpy())


def _numpy_sum(words) -> int:
    import numpy as np

    # np.sum with an int64 accumulator casts in small buffered chunks: words.astype(np.int64)
    # would first allocate 8 bytes per element (1 GiB for a 4096 x 32768 bf16 output), in the
    # worker on every timed call of a driver whose outputs come back on the host.
    return int(np.sum(words, dtype=np.int64))


def finish_digest(parts: list) -> list:
    """[key, dtype, count, sum] per output, JSON-able (reads device sums back: call after a sync)."""
    done = []
    for key, dtype, count, total in parts:
        if hasattr(total, "cpu"):  # device partial sums: copy back, add up in numpy (no torch op)
            total = _numpy_sum(total.cpu().numpy())
        done.append([key, dtype, count, total])
    return done


def digest(outputs: dict, *, use_triton: bool = False) -> list:
    return finish_digest(digest_parts(outputs, use_triton=use_triton))


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


# ----------------------------------------------------------------------------- worker side

def unshared(outputs: dict, kept: set) -> dict:
    """The outputs of one timed call, refused if they share memory with an earlier timed call's.

    Every timed call's outputs are kept, and the drawn ones copied back after the last call. A
    submission that hands back the same buffer on every call has, by then, overwritten the
    earlier calls' answers with the last one's: its committed digests would not match what comes
    back, and it would be told it skipped work it did. It is told what it did instead (a contract
    error, raised in the worker like any error of the call). kept: the byte ranges seen so far.
    """
    for key, value in outputs.items():
        if _is_tensor(value) and value.numel():
            # the bytes this view spans: slices of one larger buffer that do not overlap are fine
            first = value.data_ptr()
            span = (sum((n - 1) * abs(st) for n, st in zip(value.shape, value.stride())) + 1) * value.element_size()
            device = str(value.device)
            if any(d == device and first < end and start < first + span for d, start, end in kept):
                raise _contract_error(
                    f"output {str(key)[:64]!r} of a timed call is in the same memory as an earlier timed call's "
                    "output: every call must return new tensors (the timed calls' outputs are all kept and "
                    "checked after the last one)")
            kept.add((device, first, first + span))
    return outputs


def _contract_error(message: str) -> Exception:
    try:
        from contract import ContractError  # the worker's (sandbox/ is on its path)
    except ImportError:
        return ValueError(message)
    return ContractError(message)


def split_call(driver, module, params: dict, inputs: dict, device: str) -> tuple[Prepared, bool]:
    """The driver's bench_call when it has one (exact: the candidate's work only), else its run().

    Without bench_call the timed span is the driver's whole run(): the inputs
    are already on the device, but the copy of the outputs back to the host is
    timed too, so the figure understates the kernel's speed.
    """
    hook = getattr(driver, "bench_call", None)
    if callable(hook):
        call, collect = hook(module, params, inputs, device)
        return Prepared(call, collect), True
    return Prepared(lambda: driver.run(module, params, inputs, device), lambda outputs: outputs), False


class BenchWorker:
    """The worker's state for one bench case at a time; `handle` serves the runner's bench_* requests.

    Candidate errors propagate: the worker reports them like a failed call.
    """

    def __init__(self, module, driver, guards, device: str, io_kind: str, codec, clock=None):
        self.module, self.driver, self.guards, self.device = module, driver, guards, device
        self.io_kind, self.codec = io_kind, codec
        self._clock = clock
        self.slots: list[Prepared] = []
        self.generated: tuple[dict, list[int]] | None = None   # (params, seeds) of a generated bench
        self.seen: dict = {}
        self.exact = True
        self.timing: Timing | None = None
        # where the rules block torch's sum, they block it for the grader's own digest too
        self.use_triton = needs_triton_digest(getattr(guards, "forbidden_ops", ()))

    @property
    def clock(self):
        if self._clock is None:
            self._clock = CudaClock()
        return self._clock

    def quiet(self):
        """The rule watch without the per-call launch rule (for driver code around the call)."""
        after_call = getattr(self.guards, "after_call", None)
        return after_call() if after_call is not None else contextlib.nullcontext()

    def _generated_slot(self, slot: int) -> Prepared:
        """Slot `slot` of a generated bench: its inputs made on the device from its seed (untimed)."""
        params, seeds = self.generated
        with self.quiet():
            inputs = self.driver.bench_inputs(params, seeds[slot], self.device)
            prepared, self.exact = split_call(self.driver, self.module, params, inputs, self.device)
        return prepared

    def _calls_that_fit(self, wanted: int) -> int:
        """Timed calls whose outputs fit in the memory share (each is kept until the draw)."""
        size = int(self.seen.get("output_bytes") or 0)
        if size <= 0:
            return wanted
        if self.device == "cuda":
            import torch

            free, _ = torch.cuda.mem_get_info()
            budget = int(free * OUTPUT_MEMORY_SHARE)
        else:
            budget = CPU_OUTPUT_MEMORY
        return max(1, min(wanted, budget // size))

    def handle(self, header: dict, payload: bytes) -> tuple[dict, bytes]:
        op = header.get("op")
        if op == "bench_gen":
            seeds = header.get("seeds")
            if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
                raise ValueError("bench_gen needs a list of integer seeds")  # the runner's bug
            self.generated, self.slots, self.timing = (header.get("params") or {}, seeds), [], None
            return {"slots": len(seeds)}, b""
        if op == "bench_load":
            inputs = to_device(self.codec.loads(payload, self.io_kind), self.device)
            with self.quiet():
                prepared, self.exact = split_call(self.driver, self.module, header.get("params") or {}, inputs,
                                                  self.device)
            self.slots.append(prepared)
            return {"slot": len(self.slots) - 1}, b""
        if op == "bench_warm":
            first = self._generated_slot(0) if self.generated else self.slots[0]
            calls, seconds = warm_up(first, self.clock, guard=self.guards.watching_call, quiet=self.quiet,
                                     use_triton=self.use_triton, seen=self.seen)
            del first
            self.clock.sync()
            return {"warmup_calls": calls, "warmup_seconds": seconds, "flush_bytes": self.clock.flush_bytes,
                    "clock": self.clock.kind, "exact": self.exact}, b""
        if op == "bench_run":
            kept: set = set()

            def checked(slot: Prepared) -> Prepared:
                return Prepared(slot.call, lambda result: unshared(slot.collect(result), kept))

            if self.generated:
                calls = self._calls_that_fit(len(self.generated[1]) - 1)
                slots = LazySlots(calls, lambda i: checked(self._generated_slot(i + 1)))
            else:
                slots = [checked(self.slots[s]) for s in timed_slots(len(self.slots))]
            self.timing = run_timed(slots, self.clock, guard=self.guards.watching_call, quiet=self.quiet,
                                    use_triton=self.use_triton)
            self.slots = []  # the inputs are no longer needed: free them before outputs are copied back
            return {"seconds": self.timing.seconds, "digests": self.timing.digests, "stop": self.timing.stop}, b""
        if op == "bench_output":
            index = header.get("index")
            outputs = self.timing.outputs[index] if self.timing and isinstance(index, int) and \
                0 <= index < len(self.timing.outputs) else {}
            with self.quiet():
                return {"index": index}, self.codec.dumps(to_host(outputs), self.io_kind)
        if op == "bench_free":
            self.slots, self.timing, self.generated = [], None, None
            return {}, b""
        raise ValueError(f"unknown bench op {op!r}")  # the runner's bug, not the candidate's
