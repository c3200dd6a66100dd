"""triton_softmax driver: runs in the child, next to the candidate's code.

Moves x to the device, calls `softmax(x)` once, checks the answer is a plain
tensor of x's shape, dtype and device, and hands it back on the CPU. The whole
call runs under the child's guards (forbidden torch ops, Triton launch count),
so this file uses only ops the exercise allows: moves and copies. The host
re-checks everything this returns.
"""

from __future__ import annotations

import torch

from contract import ContractError  # sandbox/contract.py: on the child's path; the host's packs.sandbox_contract


ENTRY = "softmax"


def _entry(module):
    fn = getattr(module, ENTRY, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {ENTRY}(x)")
    return fn


def _checked(y, x):
    # A subclass could defer its work to whoever reads it: only a plain tensor counts.
    if type(y) is not torch.Tensor:
        raise ContractError(f"{ENTRY}(x) must return a torch.Tensor, got {type(y).__module__}.{type(y).__name__}")
    if tuple(y.shape) != tuple(x.shape):
        raise ContractError(f"{ENTRY}(x) returned shape {tuple(y.shape)}, expected {tuple(x.shape)}")
    if y.dtype != x.dtype:
        raise ContractError(f"{ENTRY}(x) returned dtype {y.dtype}, expected {x.dtype} (same as the input)")
    if y.device != x.device:
        raise ContractError(f"{ENTRY}(x) returned a tensor on {y.device}, expected {x.device}")
    return y


def run(module, params: dict, inputs: dict, device: str) -> dict:
    fn = _entry(module)
    x = inputs["x"].to(device)  # (M, N), contiguous
    y = _checked(fn(x), x)
    if device != "cpu":
        torch.cuda.synchronize()  # the kernel's errors surface here, inside the case
    return {"y": y.detach().cpu()}


def bench_call(module, params: dict, inputs: dict, device: str):
    """(call, collect) for a timed case: call() is the candidate's softmax(x) alone.

    Without it a GPU bench times the whole run(): its synchronize and the copy
    of y to the host (128-256 MiB at the bench shapes, tens of ms against a
    kernel of ~0.1 ms) would be counted as the kernel's time. x is already on
    the device; y stays there (the harness digests it on the device).
    """
    fn = _entry(module)
    x = inputs["x"].to(device)  # (M, N); a no-op when the harness has placed it
    return (lambda: fn(x)), (lambda y: {"y": _checked(y, x).detach()})


def bench_inputs(params: dict, seed: int, device: str) -> dict:
    """A timed call's x (M, N), made on `device` from `seed`: offset + scale * noise, rounded once.

    The worker makes each timed call's input this way (256 MiB a call at the bench shapes: no
    file to write, read or send), and the host makes the same one again with this same code for
    the calls it checks. One normal() kernel: the exercise's rules block add and mul here too.
    """
    gen = torch.Generator(device=device).manual_seed(int(seed))
    m, n = int(params["M"]), int(params["N"])
    x = torch.normal(float(params.get("offset", 0.0)), float(params.get("scale", 1.0)), (m, n), generator=gen,
                     device=device)                                               # (M, N) float32
    return {"x": x.to(getattr(torch, params["dtype"]))}
