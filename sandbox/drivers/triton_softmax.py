"""triton_softmax driver: runs in the child, next to the candidate's code.

Moves x to the device, calls `softmax(x)` once, checks the answer is a plain
tensor of x's shape, dtype and device, and hands it back on the CPU. The whole
call runs under the child's guards (forbidden torch ops, Triton launch count),
so this file uses only ops the exercise allows: moves and copies. The host
re-checks everything this returns.
"""

from __future__ import annotations

import torch


def _contract_error() -> type[Exception]:
    try:
        from contract import ContractError  # the child runs with sandbox/ importable
    except ImportError:  # the host loads this file by path, with sandbox/ not on sys.path
        import importlib.util
        from pathlib import Path

        path = Path(__file__).resolve().parent.parent / "contract.py"
        spec = importlib.util.spec_from_file_location("_dlverify_sandbox_contract", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ContractError = module.ContractError
    return ContractError


ContractError = _contract_error()

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
