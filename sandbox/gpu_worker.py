"""GPU timing, the worker's half: bench requests served next to candidate code.

The runner (bench.py) sends bench_gen or bench_load, then bench_warm,
bench_run, bench_output and bench_free; BenchWorker answers each with the
loop and clocks of gpu_timing.py and the digests of gpu_digest.py.
Candidate errors propagate: the worker reports them like a failed call.
"""

from __future__ import annotations

import contextlib

from gpu_digest import needs_triton_digest
import gpu_timing  # its memory constants read at each use (tests and runners may set them)
from gpu_timing import CudaClock, LazySlots, Prepared, Timing, _is_tensor, run_timed, timed_slots, to_device, to_host, warm_up

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
            budget = int(free * gpu_timing.OUTPUT_MEMORY_SHARE)
        else:
            budget = gpu_timing.CPU_OUTPUT_MEMORY
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
