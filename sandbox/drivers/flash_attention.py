"""flash_attention driver: runs in the child, next to the candidate's code.

One case: `attention_forward(q, k, v, causal, scale)`, and for backward cases
`attention_backward(q, k, v, o, lse, do, causal, scale)` on the o and lse that
forward returned. Checks every returned tensor's type, shape, dtype and device,
meters what each call allocates (the README's memory rule), and hands the
outputs back on the CPU. The calls run under the child's guards (forbidden
torch ops, the allow-list, the Triton launch count), so this file uses only
ops the exercise allows: moves, views and copies. The host re-checks
everything this returns.
"""

from __future__ import annotations

import math

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from contract import ContractError  # sandbox/contract.py: on the child's path; the host's packs.sandbox_contract

FORWARD, BACKWARD = "attention_forward", "attention_backward"
ALLOC_UNITS = 16      # the memory rule: 16 (B, H, L', D)-sized tensors per call, L' = max(Lq, Lk) rounded up
ALLOC_ROUND = 128     # to a multiple of 128 (room for inputs padded to a whole tile)


def scale_of(params: dict) -> float:
    """The softmax scale a case passes: its own `scale`, else 1 / sqrt(D) (the grader's `scale_of` too)."""
    return float(params["scale"]) if "scale" in params else 1.0 / math.sqrt(int(params["D"]))


def alloc_budget(params: dict) -> int:
    """Elements one call may allocate: ALLOC_UNITS x B x H x L' x D (README, "Memory")."""
    longest = max(int(params["Lq"]), int(params["Lk"]))
    rounded = -(-longest // ALLOC_ROUND) * ALLOC_ROUND
    return ALLOC_UNITS * int(params["B"]) * int(params["H"]) * rounded * int(params["D"])


class AllocationMeter(TorchDispatchMode):
    """Adds up the elements of every tensor an aten op creates during one call (not views, not
    in-place results) and raises MemoryError past the budget: a (Lq, Lk) score matrix per head
    does not fit. Sticky: a caught MemoryError does not clear it (`over` is checked after the call).

    It sees every aten op of the calling thread, whatever route reached it; what it does not see:
    threads the candidate starts, and memory not from an aten op (buffers, storages and raw
    allocator pointers are forbidden imports). On a GPU the case whose scores fit no GPU's memory
    is the evidence-based check behind it."""

    def __init__(self, budget: int, what: str):
        super().__init__()
        self.budget, self.what, self.used, self.over = budget, what, 0, False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        schema = getattr(func, "_schema", None)
        if schema is not None:
            fresh = [r.alias_info is None for r in schema.returns]
            # torch.tensor(list) builds its tensor before any op runs and then "lifts" it: count it here
            if getattr(func, "overloadpacket", None) is torch.ops.aten.lift_fresh:
                fresh = [True]
            outs = out if isinstance(out, (tuple, list)) else (out,)
            self.used += sum(t.numel() for t, new in zip(outs, fresh) if new and isinstance(t, torch.Tensor))
            if self.used > self.budget:
                self.over = True
                raise MemoryError(self.message())
        return out

    def message(self) -> str:
        return (f"{self.what} allocated {self.used:,} tensor elements in one call, over the memory rule's "
                f"{self.budget:,} ({ALLOC_UNITS} x B x H x L' x D): a (Lq, Lk) score or probability matrix per head "
                f"does not fit; keep them on chip, tile by tile")


def _metered(fn, params: dict, what: str, metered: bool):
    def call(*args):
        if not metered:
            return fn(*args)
        meter = AllocationMeter(alloc_budget(params), what)
        with meter:
            result = fn(*args)
        if meter.over:
            raise MemoryError(meter.message())
        return result
    return call


def _entry(module, name):
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {name}(...)")
    return fn


def _tensor(t, name: str, shape: tuple, dtype, device) -> torch.Tensor:
    # A subclass could defer its work to whoever reads it: only a plain tensor counts.
    if type(t) is not torch.Tensor:
        raise ContractError(f"{name} must be a torch.Tensor, got {type(t).__module__}.{type(t).__name__}")
    if tuple(t.shape) != shape:
        raise ContractError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
    if t.dtype != dtype:
        raise ContractError(f"{name} has dtype {t.dtype}, expected {dtype}")
    if t.device != device:
        raise ContractError(f"{name} is on {t.device}, expected {device}")
    return t


def _unpack(result, names: tuple[str, ...], entry: str):
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise ContractError(f"{entry} must return a tuple ({', '.join(names)}), got {type(result).__name__}"
                            + (f" of {len(result)}" if isinstance(result, (tuple, list)) else ""))
    return result


def _place(t: torch.Tensor, params: dict, device: str) -> torch.Tensor:
    """On the device; with layout "blhd", a (B, H, L, D) view of a (B, L, H, D) buffer (the layout a
    fused QKV projection leaves): same values, strides (L H D, D, H D, 1)."""
    t = t.to(device)
    if params.get("layout", "bhld") == "blhd":
        t = t.transpose(1, 2).contiguous().transpose(1, 2)
    return t


def _calls(module, params: dict, inputs: dict, device: str, metered: bool):
    forward = _metered(_entry(module, FORWARD), params, FORWARD, metered)
    backward_wanted = bool(params.get("backward", False))
    backward = _metered(_entry(module, BACKWARD), params, BACKWARD, metered) if backward_wanted else None
    q, k, v = (_place(inputs[n], params, device) for n in ("q", "k", "v"))
    do = _place(inputs["do"], params, device) if backward_wanted else None
    causal, scale = bool(params["causal"]), scale_of(params)
    B, H, Lq, D = q.shape
    Lk = k.shape[2]

    def call():
        o, lse = _unpack(forward(q, k, v, causal, scale), ("o", "lse"), FORWARD)
        _tensor(o, "o", (B, H, Lq, D), q.dtype, q.device)
        _tensor(lse, "lse", (B, H, Lq), torch.float32, q.device)
        if backward is None:
            return o, lse
        grads = _unpack(backward(q, k, v, o, lse, do, causal, scale), ("dq", "dk", "dv"), BACKWARD)
        for name, g, length in zip(("dq", "dk", "dv"), grads, (Lq, Lk, Lk)):
            _tensor(g, name, (B, H, length, D), q.dtype, q.device)
        return (o, lse, *grads)

    def collect(result):
        names = ("o", "lse", "dq", "dk", "dv") if backward is not None else ("o", "lse")
        return {name: t.detach() for name, t in zip(names, result)}

    return call, collect


def run(module, params: dict, inputs: dict, device: str) -> dict:
    call, collect = _calls(module, params, inputs, device, metered=True)
    outputs = collect(call())
    if device != "cpu":
        torch.cuda.synchronize()  # the kernels' errors surface here, inside the case
    # contiguous: the outputs cross the boundary as plain data, whatever strides the kernel wrote
    return {name: t.contiguous().cpu() for name, t in outputs.items()}


def bench_call(module, params: dict, inputs: dict, device: str):
    """(call, collect) for a timed case: call() is the candidate's forward (and backward) alone.

    Without it a GPU bench times the whole run(): the copy of o, lse, dq, dk, dv to the host
    (up to 257 MiB a call) would be counted as the kernels' time. The inputs are already on the
    device; the outputs stay there (the harness digests them on the device). Not metered: the
    memory rule is checked on the hidden cases, which every timed case comes after.
    """
    return _calls(module, params, inputs, device, metered=False)


def bench_inputs(params: dict, seed: int, device: str) -> dict:
    """A timed call's q, k, v (and do for a backward case), made on `device` from `seed`: standard
    normal (times `magnitude` for q and k), rounded once to the dtype. One normal() kernel each: the
    exercise's rules block add and mul here too."""
    gen = torch.Generator(device=device).manual_seed(int(seed))
    B, H, Lq, Lk, D = (int(params[n]) for n in ("B", "H", "Lq", "Lk", "D"))
    dtype, magnitude = getattr(torch, params["dtype"]), float(params.get("magnitude", 1.0))

    def normal(shape, std=1.0):
        return torch.normal(0.0, std, shape, generator=gen, device=device).to(dtype)

    inputs = {"q": normal((B, H, Lq, D), magnitude), "k": normal((B, H, Lk, D), magnitude), "v": normal((B, H, Lk, D))}
    if params.get("backward", False):
        inputs["do"] = normal((B, H, Lq, D))
    return inputs
