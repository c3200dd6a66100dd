"""triton_matmul driver: runs in the child, next to the candidate's code.

Moves a, b (and bias) to the device, lays a and b out as the case says (a
transposed view: the same values, strides (1, rows)), calls
`matmul(a, b, bias=..., activation=...)` once, checks the answer is a plain
tensor of shape (M, N) in a's dtype and device, and hands it back on the CPU.
The whole call runs under the child's guards (forbidden torch ops, Triton
launch count), so this file uses only ops the exercise allows: moves, copies
and views. The host re-checks everything this returns.
"""

from __future__ import annotations

import torch

from contract import ContractError  # sandbox/contract.py: on the child's path; the host's packs.sandbox_contract


ENTRY = "matmul"
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def _entry(module):
    fn = getattr(module, ENTRY, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {ENTRY}(a, b, bias=None, activation=None)")
    return fn


def _column_major(t: torch.Tensor) -> torch.Tensor:
    """The same (R, C) values stored column by column: a transposed view, strides (1, R)."""
    return t.t().contiguous().t()


def _arguments(params: dict, inputs: dict, device: str):
    """(a, b, keyword arguments): only the keywords the case uses, so the defaults are tested too."""
    a = inputs["a"].to(device)  # (M, K)
    b = inputs["b"].to(device)  # (K, N)
    if params.get("a_transposed"):
        a = _column_major(a)
    if params.get("b_transposed"):
        b = _column_major(b)
    kwargs = {}
    if "bias" in inputs:
        kwargs["bias"] = inputs["bias"].to(device)  # (N,)
    if params.get("activation"):
        kwargs["activation"] = str(params["activation"])
    return a, b, kwargs


def _checked(c, a, b):
    # A subclass could defer its work to whoever reads it: only a plain tensor counts.
    if type(c) is not torch.Tensor:
        raise ContractError(f"{ENTRY}(a, b) must return a torch.Tensor, got {type(c).__module__}.{type(c).__name__}")
    want = (a.shape[0], b.shape[1])
    if tuple(c.shape) != want:
        raise ContractError(f"{ENTRY}(a, b) returned shape {tuple(c.shape)}, expected {want}")
    if c.dtype != a.dtype:
        raise ContractError(f"{ENTRY}(a, b) returned dtype {c.dtype}, expected {a.dtype} (same as the inputs)")
    if c.device != a.device:
        raise ContractError(f"{ENTRY}(a, b) returned a tensor on {c.device}, expected {a.device}")
    return c


def run(module, params: dict, inputs: dict, device: str) -> dict:
    fn = _entry(module)
    a, b, kwargs = _arguments(params, inputs, device)
    c = _checked(fn(a, b, **kwargs), a, b)
    if device != "cpu":
        torch.cuda.synchronize()  # the kernel's errors surface here, inside the case
    return {"c": c.detach().cpu()}


def bench_call(module, params: dict, inputs: dict, device: str):
    """(call, collect) for a timed case: call() is the candidate's matmul alone.

    Without it a GPU bench times the whole run(): its synchronize and the copy of c to the
    host (128 MiB at 8192^2) would be counted as the kernel's time. The inputs are already on
    the device; c stays there (the harness digests it on the device).
    """
    fn = _entry(module)
    a, b, kwargs = _arguments(params, inputs, device)  # moves are no-ops when the harness placed them
    return (lambda: fn(a, b, **kwargs)), (lambda c: {"c": _checked(c, a, b).detach()})


def bench_inputs(params: dict, seed: int, device: str) -> dict:
    """A timed call's a (M, K), b (K, N) and bias (N,), made on `device` from `seed`, rounded once.

    The worker makes each timed call's inputs this way (up to 384 MiB a call at 8192^3: no
    file to write, read or send), and the host makes the same ones again with this same code
    for the calls it checks. normal() does the scaling: the exercise's rules block mul and add
    here too. The bench cases have no offset_a, cancel or transposed layouts.
    """
    gen = torch.Generator(device=device).manual_seed(int(seed))
    m, n, k = int(params["M"]), int(params["N"]), int(params["K"])
    dtype = DTYPES[params["dtype"]]

    def normal(scale: float, shape: tuple) -> torch.Tensor:
        return torch.normal(0.0, scale, shape, generator=gen, device=device).to(dtype)  # float32, rounded once

    inputs = {"a": normal(float(params.get("scale_a", 1.0)), (m, k)),
              "b": normal(float(params.get("scale_b", 1.0)), (k, n))}
    if params.get("bias"):
        inputs["bias"] = normal(float(params.get("scale_bias", 1.0)), (n,))
    return inputs
